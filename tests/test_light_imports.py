"""Importing the package registers nothing and loads neither torch nor fairseq, so the preprocessing commands answer
`--help` (and a bad path) without the seconds those take to load; registration happens where fairseq loads the
plugin (maelm_fairseq/tasks/__init__.py)."""
import os
import subprocess
import sys

import pytest

from helpers import BIN, REPO

HEAVY = ("torch", "fairseq")

# every preprocessing command, as its README runs it
HELP_COMMANDS = [
    [sys.executable, "preprocess/pretrain/build_corpus.py"],
    [sys.executable, "preprocess/pretrain/prepare_corpus.py"],
    [sys.executable, "preprocess/pretrain/sentence_tasks.py"],
    [sys.executable, "-m", "preprocess.labelled.packaged"],
    [os.path.join(BIN, "maelm-prepare-labelled")],  # the venv's, whether or not it is on PATH (make test)
    [sys.executable, "-m", "preprocess.glue.prepare_glue"],
    [sys.executable, "-m", "preprocess.squad.prepare_squad"],
    [sys.executable, "preprocess/gpt2/make_tiny_bpe.py"],
]


def imported_modules(command):
    """(exit status, the top-level names of the modules `command` imported), from Python's -X importtime report."""
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    names = {line.rsplit("|", 1)[1].strip().split(".")[0]
             for line in done.stderr.splitlines() if line.startswith("import time:") and "|" in line}
    return done.returncode, names


def test_importing_the_package_loads_neither_torch_nor_fairseq():
    status, names = imported_modules([sys.executable, "-c", "import maelm_fairseq, maelm_fairseq.errors, "
                                      "maelm_fairseq.data.fork_dictionary, maelm_fairseq.data.tokenizer_manifest"])
    assert status == 0 and "maelm_fairseq" in names
    assert not names & set(HEAVY)


def test_the_plugin_registers_where_fairseq_loads_it():
    code = ("import sys, maelm_fairseq; from fairseq.tasks import TASK_REGISTRY; assert 'maelm' not in TASK_REGISTRY;"
            "import maelm_fairseq.tasks; from fairseq.criterions import CRITERION_REGISTRY;"
            "from fairseq.data import Dictionary; assert 'maelm' in TASK_REGISTRY and 'maelm' in CRITERION_REGISTRY;"
            "assert Dictionary.add_from_file.maelm_wrapped")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=120)


def test_spawned_training_workers_register_the_plugin():
    """fairseq's spawned workers (--distributed-world-size on one node) import the console script as __mp_main__
    and then run fairseq's loader, which skips the package that script has imported: the script must register."""
    code = (f"import runpy; runpy.run_path({os.path.join(BIN, 'maelm-train')!r}, run_name='__mp_main__');"
            "from fairseq.tasks import TASK_REGISTRY; from fairseq.criterions import CRITERION_REGISTRY;"
            "assert 'maelm' in TASK_REGISTRY and 'maelm' in CRITERION_REGISTRY")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=120)


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=lambda c: c[-1].rsplit("/", 1)[-1])
def test_preprocessing_help_loads_neither_torch_nor_fairseq(command):
    status, names = imported_modules(command + ["--help"])
    assert status == 0
    assert not names & set(HEAVY), f"{' '.join(command)} --help imports {sorted(names & set(HEAVY))}"
