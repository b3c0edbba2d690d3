"""Helpers shared by the test modules (fixtures live in conftest.py; in-process model building in model_factory.py):
running the venv's console scripts and reading fairseq's log lines, the tiny training flags, and the
preprocessing helpers the corpus and GLUE pipeline tests both use."""
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:  # examples/ (the recipes) as a package, however pytest was started
    sys.path.append(REPO)

from examples.recipes import TINY  # noqa: E402
from maelm_fairseq.evaluation import training_log  # noqa: E402

# One torch thread per process: on 2 shared cores, torch's default threads made fine-tuning about 5x slower.
CPU_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

BIN = os.path.dirname(sys.executable)  # the venv's console scripts (fairseq-train, maelm-train, ...)

TINY_TRAIN = ["--tokens-per-sample", 128, "--optimizer", "adam", "--lr", 1e-3, "--lr-scheduler", "inverse_sqrt",
              "--warmup-updates", 10, "--batch-size", 16, "--cpu", "--log-interval", 5, "--log-format", "simple",
              "--no-epoch-checkpoints", "--seed", 1, "--num-workers", 0]

# A one-layer fairseq RoBERTa (the tiny model of examples/recipes.py): enough to show that stock fairseq tasks train on
# our data-bins.
TINY_ROBERTA = ["--arch", "roberta_base", *TINY.argv()]


def run_cli(args, cwd=REPO, check=True, timeout=600, env=None):
    """Run a console script of the venv; on failure show its output in the assertion message."""
    cmd = [os.path.join(BIN, args[0])] + [str(a) for a in args[1:]]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    output = proc.stdout + proc.stderr
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{output[-6000:]}")
    return proc.returncode, output


def logged_values(output, key, kind="train_inner"):
    """Values of `key` in fairseq's train_inner or valid log lines, in order."""
    curve = training_log.train_curve if kind == "train_inner" else training_log.valid_curve
    return [value for _, value in curve(output, key)]


def fairseq_train(data_bin, save_dir, *task_flags, model=TINY_ROBERTA):
    """Three CPU updates of fairseq-train on `data_bin`, without saving: the data-bin loads and trains."""
    _, output = run_cli(["fairseq-train", data_bin, *task_flags, *model, "--max-update", 3, "--cpu", "--optimizer",
                         "adam", "--lr", 1e-4, "--batch-size", 4, "--no-save", "--num-workers", 0, "--log-format",
                         "simple", "--save-dir", save_dir], timeout=300)
    assert "done training" in output


def record_workers(monkeypatch):
    """Wrap the parallel map so a test can see how many workers the pipeline asked for."""
    import preprocess.parallel_encode as parallel_encode

    seen, original = [], parallel_encode.ordered_parallel_map

    def recording(function, items, workers, initializer, initargs):
        seen.append(workers)
        return original(function, items, workers, initializer, initargs)

    monkeypatch.setattr(parallel_encode, "ordered_parallel_map", recording)
    return seen


def train_in_process(capsys, argv):
    """`maelm-train ARGV` in this process: (exit status, the `error:` lines it printed on stderr)."""
    import sys

    from maelm_fairseq.cli import run_train

    saved = sys.argv
    try:
        status = run_train([str(a) for a in argv])
    finally:
        sys.argv = saved
    return status, [line for line in capsys.readouterr().err.splitlines() if line.startswith("error: ")]
