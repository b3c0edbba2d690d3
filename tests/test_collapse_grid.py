"""examples/repro/collapse.py: every run's command line is a valid fairseq-train configuration that differs from
the collapsed reference, and the log reader finds the validation points."""
import os
import runpy

import pytest
from fairseq import options

import maelm_fairseq.tasks  # noqa: F401  (registers the plugin: --user-dir skips the package this process imported)
from helpers import REPO

COLLAPSE = runpy.run_path(os.path.join(REPO, "examples", "repro", "collapse.py"))


@pytest.mark.parametrize("name", list(COLLAPSE["RUNS"]))
def test_every_run_parses_as_a_maelm_training(name, word_data_bin):
    corpus, varied, flags = COLLAPSE["RUNS"][name]
    parser = options.get_training_parser()
    argv = [str(word_data_bin), "--user-dir", os.path.join(REPO, "maelm_fairseq"), "--task", "maelm",
            "--criterion", "maelm", *COLLAPSE["BASE"], *flags, "--max-update", "1"]
    args = options.parse_args_and_arch(parser, argv)
    assert args.arch == "maelm_tiny" and args.encoder_embed_dim == 64
    if name != "collapsed (reference)":
        assert (flags, corpus) != (COLLAPSE["COLLAPSED"], "small") and varied != "-"


def test_valid_points_are_read_in_order(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(
        "x | valid | epoch 001 | valid on 'valid' subset | loss 9.316 | accuracy 3 | enc_erank 3.71 | num_updates 36\n"
        "x | train_inner | loss=9.2, enc_erank=20.1, num_updates=50\n"
        "x | valid | epoch 002 | valid on 'valid' subset | loss 9.25 | accuracy 4 | enc_erank 1.47 | num_updates 72\n")
    assert COLLAPSE["valid_points"](str(log)) == [(36, 9.316, 3.71), (72, 9.25, 1.47)]
