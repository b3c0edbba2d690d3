"""Input-pipeline throughput: fairseq's masked-LM data path against the `maelm` task's batched one, and how many
loader processes each system of the family needs to keep one GPU busy.

    python benchmarks/input_pipeline.py                          # Python's own text (built here, ~30 s), ~2 min
    python benchmarks/input_pipeline.py --data DATA_BIN --out benchmarks/results/input_pipeline
    python benchmarks/input_pipeline.py --quick                  # smoke test: tiny corpus, 0.25 s per cell

Both systems are the `maelm` task on the same data-bin and the same fairseq batches (--max-tokens, sorted by
size, shuffled): `--masking per-sample` is fairseq's path (RandomCropDataset, TokenBlockDataset,
MaskTokensDataset, one sample at a time), `--masking batched` ours (data/token_blocks.py, data/batch_masking.py).
Each cell runs the dataset through torch's DataLoader as fairseq's iterator does (collate_fn = the dataset's
collater) with 1 or 2 worker processes, and reports real tokens (<s> included) per second from the first batch
on, so worker start-up is left out. 1 worker = the throughput of one loader process.

Loader demand: tokens/s one GPU consumes = MFU x peak FLOP/s / training FLOPs per token (maelm_fairseq/analysis/flops.py,
full blocks of T tokens, p x T predicted, all of them deleted from the encoder for the systems with a decoder),
and the loader processes that takes at the measured 1-worker rate. See benchmarks/README.md.
"""
import argparse
import json
import math
import os
import sys
import tempfile
import time

import numpy as np
import torch


from maelm_fairseq.analysis.flops import PEAK_FLOPS, train_flops
from step_time import SIZES, SYSTEMS, cpu_model, shape_of  # the sibling script: same sizes and systems

PIPELINES = {"fairseq": "per-sample", "ours": "batched"}  # label: --masking
TARGET = 1e6  # tokens/s per loader process at T=512 (issue 14)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="a maelm data-bin (default: Python's own text, word-level, built in a temp dir)")
    p.add_argument("--seq-lens", default="128,512", help="--tokens-per-sample values")
    p.add_argument("--mask-probs", default="0.15,0.5")
    p.add_argument("--workers", default="1,2", help="data-loader worker processes")
    p.add_argument("--max-tokens", type=int, default=16384, help="tokens per batch (fairseq's --max-tokens)")
    p.add_argument("--seconds", type=float, default=3.0, help="measured time per cell")
    p.add_argument("--mfu", type=float, default=0.45, help="model FLOPs utilisation of the GPU for the demand")
    p.add_argument("--peak-tflops", type=float, default=PEAK_FLOPS["H100"] / 1e12,
                   help="dense bf16 peak of the GPU (default H100/H200: 989.4)")
    p.add_argument("--quick", action="store_true", help="tiny corpus, 0.25 s per cell: a smoke test")
    p.add_argument("--out", help="write OUT.md and OUT.json")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds = min(args.seconds, 0.25)
    return args


# ----------------------------------------------------------------------------------------------- data

def build_data_bin(quick: bool) -> str:
    """Python's own text (build_corpus.py --python; with --quick only the pydoc topics), word-level tokens,
    binarized by fairseq-preprocess in this process. Short lines (~20 tokens): the hard case for a loader."""
    from maelm_fairseq.data.demo_corpus import word_tokens, write_pretraining_corpus
    from preprocess.binarize import run_fairseq_preprocess
    from preprocess.pretrain.build_corpus import python_documents, write_corpus

    root = tempfile.mkdtemp(prefix="maelm_input_pipeline_")
    if quick:
        write_pretraining_corpus(root)
    else:
        write_corpus(python_documents(), root)
    with open(os.path.join(root, "train.txt")) as src, open(os.path.join(root, "train.tok"), "w") as out:
        for line in src:
            out.write(word_tokens(line) + "\n")
    run_fairseq_preprocess(os.path.join(root, "bin"), os.path.join(root, "train.tok"), [], workers=1)
    return os.path.join(root, "bin")


def make_task(data, seq_len, mask_prob, masking):
    from maelm_fairseq.pretrain.task import MaelmConfig, MaelmTask

    task = MaelmTask.setup_task(MaelmConfig(data=data, tokens_per_sample=seq_len, mask_prob=mask_prob, seed=1,
                                            masking=masking))
    task.load_dataset("train")
    return task


# ---------------------------------------------------------------------------------------------- measure

def loader_rate(task, workers, max_tokens, seconds, seed=1):
    """Real tokens per second out of a DataLoader over fairseq's batches, timed from the first batch on."""
    dataset = task.dataset("train")
    dataset.set_epoch(1)
    batches = dataset.batch_by_size(dataset.ordered_indices(), max_tokens=max_tokens)
    rng = np.random.RandomState(seed)
    schedule = [batches[i] for _ in range(1000) for i in rng.permutation(len(batches))]
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=schedule, collate_fn=dataset.collater,
                                         num_workers=workers)
    iterator = iter(loader)
    next(iterator)
    start, tokens, count = time.perf_counter(), 0, 0
    for batch in iterator:
        tokens += batch["ntokens"]
        count += 1
        if time.perf_counter() - start >= seconds:
            break
    elapsed = time.perf_counter() - start
    del iterator  # stops the workers
    return tokens / elapsed, count


def demand(seq_lens, rates, args):
    """Tokens/s one GPU consumes per system and size, and the loader processes each pipeline needs for it."""
    peak = args.peak_tflops * 1e12
    rows = []
    for size_name in ("reduced", "base", "large"):
        size = SIZES[size_name]
        for name in ("roberta", "maelm", "threeml_self", "threeml_cross"):
            label, p = SYSTEMS[name].label, SYSTEMS[name].mask_prob
            shape = shape_of(name, size, size["vocab"])
            for t in seq_lens:
                per_token = train_flops(shape, t, p * t, p * t if shape.decoder_layers else 0.0) / t
                tokens_per_s = args.mfu * peak / per_token
                row = dict(size=size_name, system=label, seq_len=t, mask_prob=p, flops_per_token=per_token,
                           tokens_per_s=tokens_per_s)
                for pipeline in PIPELINES:
                    rate = rates.get((pipeline, t, p, 1))
                    row[f"workers_{pipeline}"] = math.ceil(tokens_per_s / rate) if rate else None
                rows.append(row)
    return rows


def markdown(cells, demand_rows, meta):
    lines = [f"Loader throughput, real tokens/s (<s> included), --max-tokens {meta['max_tokens']}, "
             f"{meta['seconds']:g} s per cell; corpus {meta['corpus']}; {meta['cpu']}, load average at the end "
             f"{meta['load_average']}", "",
             "| T | p | workers | fairseq (per-sample) tok/s | ours (batched) tok/s | ours / fairseq |",
             "|---:|---:|---:|---:|---:|---:|"]
    for c in cells:
        lines.append(f"| {c['seq_len']} | {c['mask_prob']:g} | {c['workers']} | {c['fairseq']:,.0f} | "
                     f"{c['ours']:,.0f} | {c['ours'] / c['fairseq']:.1f}x |")
    at_target = [c for c in cells if c["seq_len"] == 512 and c["workers"] == 1]
    if at_target:
        worst = min(c["ours"] for c in at_target)
        lines += ["", f"Target >= {TARGET / 1e6:g} M tokens/s per loader process at T=512: "
                      f"{'met' if worst >= TARGET else 'NOT met'} (lowest 1-worker rate {worst / 1e6:.2f} M)."]
    lines += ["", f"Loader demand of one GPU at {100 * meta['mfu']:g} % MFU of {meta['peak_tflops']:g} TFLOP/s "
                  f"(training FLOPs per token from maelm_fairseq/analysis/flops.py, full blocks), and loader processes needed "
                  f"at the 1-worker rates above:", "",
              "| size | system | T | p | GFLOP/token | tokens/s per GPU | workers fairseq | workers ours |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in demand_rows:
        lines.append(f"| {r['size']} | {r['system']} | {r['seq_len']} | {r['mask_prob']:g} | "
                     f"{r['flops_per_token'] / 1e9:.2f} | {r['tokens_per_s'] / 1e6:.2f} M | "
                     f"{r['workers_fairseq'] if r['workers_fairseq'] is not None else '-'} | "
                     f"{r['workers_ours'] if r['workers_ours'] is not None else '-'} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(1)
    from fairseq.data import data_utils

    import maelm_fairseq.tasks  # noqa: F401  registers the task

    data = args.data or build_data_bin(args.quick)
    seq_lens = [int(x) for x in args.seq_lens.split(",")]
    probs = [float(x) for x in args.mask_probs.split(",")]
    worker_counts = [int(x) for x in args.workers.split(",")]
    rates, cells = {}, []
    for t in seq_lens:
        for p in probs:
            tasks = {label: make_task(data, t, p, masking) for label, masking in PIPELINES.items()}
            for w in worker_counts:
                cell = dict(seq_len=t, mask_prob=p, workers=w)
                for label, task in tasks.items():
                    cell[label], cell[f"{label}_batches"] = loader_rate(task, w, args.max_tokens, args.seconds)
                    rates[(label, t, p, w)] = cell[label]
                cells.append(cell)
                print(f"T={t} p={p:g} workers={w}: fairseq {cell['fairseq']:,.0f}  ours {cell['ours']:,.0f} "
                      f"tokens/s ({cell['ours'] / cell['fairseq']:.1f}x)", flush=True)
    lines = data_utils.load_indexed_dataset(os.path.join(data, "train"), None)
    meta = dict(max_tokens=args.max_tokens, seconds=args.seconds, mfu=args.mfu, peak_tflops=args.peak_tflops,
                cpu=f"{cpu_model()}, {os.cpu_count()} cores", torch=torch.__version__,
                load_average=tuple(round(x, 2) for x in os.getloadavg()),
                corpus=f"{len(lines):,} lines, {int(lines.sizes.sum()):,} tokens "
                       f"({lines.sizes.mean():.1f} per line) in {data}")
    demand_rows = demand(seq_lens, rates, args)
    table = markdown(cells, demand_rows, meta)
    print("\n" + table)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out + ".json", "w") as f:
            json.dump(dict(meta=meta, cells=cells, demand=demand_rows), f, indent=1)
        with open(args.out + ".md", "w") as f:
            f.write(table)
        print(f"wrote {args.out}.md, .json")


if __name__ == "__main__":
    main()
