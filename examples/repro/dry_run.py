"""Run the commands `run.sh --dry-run` queued, all in this one process (fairseq is imported once), each made tiny:

- every training and fine-tuning command (fairseq-train) runs 1 update on CPU with the tiny model of
  examples/recipes.py (1 layer, 32 wide), then validates on one batch: its real flags are kept, `--bf16` is dropped
  and the tiny flags come last (argparse keeps the last value), so fairseq's own parser checks the command line;
- outputs go under WORK/dry-run/ instead of WORK/{pretrain,finetune,eval,rank}/, so a dry run never leaves a
  checkpoint that a real run would take for a finished step;
- maelm-rank ranks at most 256 tokens; mlm_loss.py runs as it is (on the tiny checkpoint).

    python examples/repro/dry_run.py WORK QUEUE      # QUEUE: lines "NAME<TAB>shell-quoted command"

Each command's output goes to WORK/dry-run/logs/NAME.log; a failing command prints its log's tail and exits 1.
"""
import argparse
import os
import runpy
import shlex
import sys
import time

sys.path.append(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from examples.recipes import TINY  # noqa: E402

OUTPUT_DIRS = ("pretrain", "finetune", "eval", "rank")
TINY_RUN = ["--max-update", "1", "--total-num-update", "1", "--warmup-updates", "0", "--max-valid-steps", "1",
            "--cpu", "--num-workers", "0", "--log-interval", "1"]
TINY_BY_TASK = {"maelm": ["--tokens-per-sample", "32", "--batch-size", "4"],
                "sentence_prediction": ["--batch-size", "4", "--max-epoch", "1"]}


def in_dry_run_dir(arg, work):
    """WORK/pretrain/... -> WORK/dry-run/pretrain/... (same for finetune, eval, rank); other arguments unchanged."""
    for name in OUTPUT_DIRS:
        prefix = os.path.join(work, name)
        if arg == prefix or arg.startswith(prefix + os.sep):
            return os.path.join(work, "dry-run", name) + arg[len(prefix):]
    return arg


def tiny(argv, work):
    """The dry-run version of one queued command."""
    argv = [in_dry_run_dir(a, work) for a in argv]
    if os.path.basename(argv[0]) == "fairseq-train":
        task = argv[argv.index("--task") + 1]
        return [a for a in argv if a != "--bf16"] + TINY.argv() + TINY_RUN + TINY_BY_TASK[task]
    if "maelm_fairseq.analysis.rank_cli" in argv:
        return argv + ["--max-tokens", "256"]
    return argv


def run_in_process(argv):
    """Run a console script (`.venv/bin/fairseq-train ...`), `python script.py ...` or `python -m module ...` here."""
    if os.path.basename(argv[0]).startswith("python"):
        argv = argv[1:]
        if argv[0] == "-m":
            sys.argv = argv[1:]
            return runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    sys.argv = list(argv)
    return runpy.run_path(argv[0], run_name="__main__")


def run_logged(argv, log):
    """run_in_process with file descriptors 1 and 2 (fairseq's logging included) sent to `log`; True on success."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    ok = True
    with open(log, "w") as fh:
        fh.write(shlex.join(argv) + "\n")
        fh.flush()
        os.dup2(fh.fileno(), 1)
        os.dup2(fh.fileno(), 2)
        try:
            run_in_process(argv)
        except SystemExit as e:
            ok = e.code in (None, 0)
        except Exception:  # noqa: BLE001  (any failure of the command is reported with its log)
            import traceback

            traceback.print_exc()
            ok = False
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work")
    parser.add_argument("queue")
    args = parser.parse_args()
    work = os.path.abspath(args.work)
    logs = os.path.join(work, "dry-run", "logs")
    for name in OUTPUT_DIRS + ("logs",):
        os.makedirs(os.path.join(work, "dry-run", name), exist_ok=True)
    with open(args.queue) as fh:
        queue = [line.rstrip("\n").split("\t", 1) for line in fh if line.strip()]
    for name, command in queue:
        argv = tiny(shlex.split(command), work)
        started = time.time()
        log = os.path.join(logs, f"{name}.log")
        if not run_logged(argv, log):
            with open(log) as fh:
                tail = fh.read()[-3000:]
            print(f"dry run: {name} FAILED ({log}):\n{tail}", flush=True)
            sys.exit(1)
        print(f"dry run: {name} ok ({time.time() - started:.1f} s)", flush=True)
    print(f"dry run: all {len(queue)} commands ran (logs in {logs})")


if __name__ == "__main__":
    main()
