"""What makes MAE-LM's encoder collapse at small scale: one short pretraining run per factor, each changing one
thing from the configuration that collapsed in the first CPU reproduction (4 x 64 encoder, 1-layer decoder,
absolute positions, lr 2e-3 with 25 warm-up updates, 16 blocks of 128 tokens, 62 k-token corpus), read through the
`maelm` criterion's collapse indicator (`enc_erank`, `enc_cos` of the last encoder layer's real-token rows). The runs
are COLLAPSE_RUNS in examples/recipes.py.

    python examples/repro/collapse.py --data SMALL_DATA_BIN --data-large LARGE_DATA_BIN --work DIR [--updates 400]

Prints a markdown table (valid loss and valid enc_erank at the first and the last validation, per run) and writes
DIR/collapse.json. Valid enc_erank is the clean number: in training, dropout noise keeps enc_erank above the
encoder's true rank. Runs are one thread each, --jobs at a time; a finished run (its log says so) is not rerun.
"""
import argparse
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2]))
from examples.recipes import COLLAPSE_LARGE_CORPUS, COLLAPSE_RUNS  # noqa: E402
from maelm_fairseq.evaluation import training_log  # noqa: E402


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def train(run, data, updates, work):
    log = os.path.join(work, slug(run.name) + ".log")
    if os.path.isfile(log) and "done training" in open(log).read():
        return log
    corpus = data["large" if run.name == COLLAPSE_LARGE_CORPUS else "small"]
    cmd = [os.path.join(os.path.dirname(sys.executable), "fairseq-train"), corpus, "--user-dir", "maelm_fairseq",
           *run.argv(), "--total-num-update", str(updates), "--max-update", str(updates), "--save-dir",
           os.path.join(work, "unused")]
    with open(log, "w") as out:
        subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    return log


def valid_points(log):
    """[(updates, valid loss, valid enc_erank), ...] in order."""
    with open(log) as fh:
        text = fh.read()
    erank = dict(training_log.valid_curve(text, "enc_erank"))
    return [(updates, loss, erank[updates]) for updates, loss in training_log.valid_curve(text, "loss")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="data-bin of the small corpus (the collapsed run's)")
    parser.add_argument("--data-large", required=True, help="data-bin of a larger corpus (the corpus-size row)")
    parser.add_argument("--work", required=True)
    parser.add_argument("--updates", type=int, default=400)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    data = {"small": args.data, "large": args.data_large}
    with ThreadPoolExecutor(args.jobs) as pool:
        logs = list(pool.map(lambda run: train(run, data, args.updates, args.work), COLLAPSE_RUNS))
    rows, results = [], {}
    for run, log in zip(COLLAPSE_RUNS, logs):  # a run's title says what it changed
        points = valid_points(log)
        (u0, loss0, rank0), (u1, loss1, rank1) = points[0], points[-1]
        results[run.name] = {"varied": run.title, "valid": points}
        rows.append(f"| {run.name} | {run.title} | {rank0:.1f} (upd {u0}) | {rank1:.1f} | {loss1:.3f} |")
    print(f"| run | changed | valid enc_erank, first validation | at {args.updates} updates | valid loss (bits) |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    with open(os.path.join(args.work, "collapse.json"), "w") as fh:
        json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
