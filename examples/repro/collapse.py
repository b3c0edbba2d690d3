"""What makes MAE-LM's encoder collapse at small scale: one short pretraining run per factor, each changing one
thing from the configuration that collapsed in the first CPU reproduction (4 x 64 encoder, 1-layer decoder,
absolute positions, lr 2e-3 with 25 warm-up updates, 16 blocks of 128 tokens, 62 k-token corpus), read through the
`maelm` criterion's collapse indicator (`enc_erank`, `enc_cos` of the last encoder layer's real-token rows).

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

from maelm_fairseq.evaluation import training_log

BASE = ["--arch", "maelm_tiny", "--encoder-layers", "4", "--encoder-embed-dim", "64", "--encoder-ffn-embed-dim",
        "256", "--encoder-attention-heads", "2", "--rel-pos", "0", "--tokens-per-sample", "128", "--batch-size", "16",
        "--optimizer", "adam", "--adam-betas", "(0.9,0.98)", "--adam-eps", "1e-6", "--weight-decay", "0.01",
        "--clip-norm", "2.0", "--lr-scheduler", "polynomial_decay", "--cpu", "--num-workers", "0",
        "--data-buffer-size", "0", "--seed", "1", "--log-format", "simple", "--log-interval", "25",
        "--validate-interval-updates", "100", "--no-save"]
COLLAPSED = ["--decoder-layers", "1", "--lr", "2e-3", "--warmup-updates", "25"]

# name -> (corpus, what differs from the collapsed configuration, flags)
RUNS = {
    "collapsed (reference)": ("small", "-", COLLAPSED),
    "MLM, no decoder": ("small", "--decoder-layers 0",
                        ["--decoder-layers", "0", "--lr", "2e-3", "--warmup-updates", "25"]),
    "lr 1e-3": ("small", "peak lr", ["--decoder-layers", "1", "--lr", "1e-3", "--warmup-updates", "25"]),
    "lr 5e-4": ("small", "peak lr", ["--decoder-layers", "1", "--lr", "5e-4", "--warmup-updates", "25"]),
    "warm-up 100": ("small", "warm-up updates", ["--decoder-layers", "1", "--lr", "2e-3", "--warmup-updates", "100"]),
    "corpus 531k tokens": ("large", "corpus (8.5x)", COLLAPSED),
    "decoder 2 layers": ("small", "decoder depth", ["--decoder-layers", "2", "--lr", "2e-3", "--warmup-updates", "25"]),
    "decoder 4 layers": ("small", "decoder depth", ["--decoder-layers", "4", "--lr", "2e-3", "--warmup-updates", "25"]),
    "no dropout": ("small", "encoder dropout 0", COLLAPSED + ["--dropout", "0", "--attention-dropout", "0"]),
    "decoder dropout 0.1": ("small", "decoder dropout", COLLAPSED + ["--decoder-dropout", "0.1"]),
    "mask 50 %": ("small", "--mask-prob 0.5", COLLAPSED + ["--mask-prob", "0.5"]),
    "local rel-pos": ("small", "rel-pos, local start, in encoder and decoder",
                      COLLAPSED + ["--rel-pos", "1", "--rel-pos-init", "local", "--decoder-rel-pos", "1"]),
}


def slug(name):
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def train(name, data, updates, work):
    log = os.path.join(work, slug(name) + ".log")
    if os.path.isfile(log) and "done training" in open(log).read():
        return log
    corpus, _, flags = RUNS[name]
    cmd = [os.path.join(os.path.dirname(sys.executable), "fairseq-train"), data[corpus], "--user-dir",
           "maelm_fairseq", "--task", "maelm", "--criterion", "maelm", *BASE, *flags, "--total-num-update",
           str(updates), "--max-update", str(updates), "--save-dir", os.path.join(work, "unused")]
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
        logs = dict(zip(RUNS, pool.map(lambda n: train(n, data, args.updates, args.work), RUNS)))
    rows, results = [], {}
    for name, (_, varied, _) in RUNS.items():
        points = valid_points(logs[name])
        (u0, loss0, rank0), (u1, loss1, rank1) = points[0], points[-1]
        results[name] = {"varied": varied, "valid": points}
        rows.append(f"| {name} | {varied} | {rank0:.1f} (upd {u0}) | {rank1:.1f} | {loss1:.3f} |")
    print(f"| run | changed | valid enc_erank, first validation | at {args.updates} updates | valid loss (bits) |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    with open(os.path.join(args.work, "collapse.json"), "w") as fh:
        json.dump(results, fh, indent=1)


if __name__ == "__main__":
    main()
