"""examples/repro/collapse.py: every run's command line (COLLAPSE_RUNS of examples/recipes.py) is a valid
fairseq-train configuration that differs from the collapsed reference, and the log reader finds the validation
points."""
import os
import runpy

import pytest
from fairseq import options

import maelm_fairseq.tasks  # noqa: F401  (registers the plugin: --user-dir skips the package this process imported)
from examples.recipes import COLLAPSE_LARGE_CORPUS, COLLAPSE_RUNS, COLLAPSED
from helpers import REPO

COLLAPSE = runpy.run_path(os.path.join(REPO, "examples", "repro", "collapse.py"))


@pytest.mark.parametrize("run", COLLAPSE_RUNS, ids=lambda run: run.name)
def test_every_run_parses_as_a_maelm_training(run, word_data_bin):
    parser = options.get_training_parser()
    argv = [str(word_data_bin), "--user-dir", os.path.join(REPO, "maelm_fairseq"), *run.argv(), "--max-update", "1"]
    args = options.parse_args_and_arch(parser, argv)
    assert args.arch == "maelm_tiny" and args.encoder_embed_dim == 64 and args.task == "maelm"
    if run is not COLLAPSED:  # one change each: a flag, or the corpus
        assert (run.argv() != COLLAPSED.argv()) != (run.name == COLLAPSE_LARGE_CORPUS) and run.title != "-"


def test_every_run_has_its_own_log():
    assert len({COLLAPSE["slug"](run.name) for run in COLLAPSE_RUNS}) == len(COLLAPSE_RUNS)


def test_valid_points_are_read_in_order(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(
        "x | valid | epoch 001 | valid on 'valid' subset | loss 9.316 | accuracy 3 | enc_erank 3.71 | num_updates 36\n"
        "x | train_inner | loss=9.2, enc_erank=20.1, num_updates=50\n"
        "x | valid | epoch 002 | valid on 'valid' subset | loss 9.25 | accuracy 4 | enc_erank 1.47 | num_updates 72\n")
    assert COLLAPSE["valid_points"](str(log)) == [(36, 9.316, 3.71), (72, 9.25, 1.47)]
