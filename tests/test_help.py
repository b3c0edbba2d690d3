"""`--help` lists our task's and architectures' flags with their defaults (fairseq's own lists neither)."""
import argparse
import re

import pytest
from fairseq.models import ARCH_CONFIG_REGISTRY

from helpers import run_cli
from maelm_fairseq.models.maelm import MaelmModel

# the flags MaelmModel.add_args adds to RoBERTa's, and the RoBERTa ones our architectures set
OUR_MODEL_FLAGS = ["--decoder-layers", "--decoder-type", "--decoder-embed-dim", "--decoder-ffn-embed-dim",
                   "--decoder-attention-heads", "--decoder-dropout", "--mask-embedding", "--rel-pos", "--rel-pos-bins",
                   "--max-rel-pos", "--rel-pos-init", "--decoder-rel-pos", "--unpad", "--pooling", "--fast-dropout",
                   "--encoder-layers", "--encoder-embed-dim", "--max-positions"]
TASK_DEFAULTS = {"--sample-break-mode": "complete_doc", "--tokens-per-sample": "512", "--mask-prob": "0.15",
                 "--leave-unmasked-prob": "0.0", "--random-token-prob": "0.0", "--shorten-method": "random_crop",
                 "--masking": "batched"}


def help_entries(text):
    """{--flag: its help text on one line} of an argparse help."""
    entries, flag = {}, None
    for line in text.splitlines():
        m = re.match(r"  (--[\w-]+)(.*)", line)
        if m:
            flag = m.group(1)
            entries[flag] = m.group(2)
        elif flag and line.startswith("      "):
            entries[flag] += " " + line.strip()
        else:
            flag = None
    return {k: " ".join(v.split()) for k, v in entries.items()}


def default_of(entries, flag):
    m = re.search(r"\(default: ([^()]*)\)$", entries[flag])
    return m.group(1) if m else None


def test_added_model_flags_are_all_checked():
    parser = argparse.ArgumentParser()
    MaelmModel.add_args(parser)
    roberta = argparse.ArgumentParser()
    MaelmModel.__mro__[1].add_args(roberta)  # RobertaModel
    ours = {a.option_strings[0] for a in parser._actions} - {a.option_strings[0] for a in roberta._actions}
    assert ours <= set(OUR_MODEL_FLAGS)


def expected_arch_defaults(arch):
    values = argparse.Namespace()
    ARCH_CONFIG_REGISTRY[arch](values)
    return {flag: str(getattr(values, flag[2:].replace("-", "_"))) for flag in OUR_MODEL_FLAGS}


@pytest.mark.parametrize("command, arch, task", [
    (["maelm-train", "--help"], "maelm_base", True),
    (["fairseq-train", "--user-dir", "maelm_fairseq", "--arch", "maelm_base", "--help"], "maelm_base", False),
    (["maelm-train", "--arch", "threeml_cross_base", "-h"], "threeml_cross_base", True),
])
def test_help_lists_our_flags_with_defaults(command, arch, task):
    _, out = run_cli(command)
    entries = help_entries(out)
    expected = expected_arch_defaults(arch)
    assert {flag: default_of(entries, flag) for flag in OUR_MODEL_FLAGS} == expected
    assert expected["--max-positions"] == "512"
    if task:
        assert {flag: default_of(entries, flag) for flag in TASK_DEFAULTS} == TASK_DEFAULTS
    assert default_of(entries, "--log-interval") == "100"  # fairseq's own flags too
