"""Where one training step's CPU time goes, per operator, for our systems and the Hugging Face peers, side by side.

    python benchmarks/profile_step.py --size 6x384 --systems maelm_mlm,threeml_self --peers modernbert

Builds the rows exactly as benchmarks/step_time.py does (fairseq-train's Trainer.train_step for ours, the HF
Trainer's step for peers; full blocks by default), warms each system up, then runs `--steps` steps of each under
torch.profiler and prints, per system, the operators with the most self CPU time (ms per step) and the totals by
group (matmuls, attention, elementwise, optimizer, ...). One thread by default, as the step-time benchmark.
"""
import argparse
import collections
import statistics
import sys
import time
import warnings

import torch

import step_time as st

GROUPS = [  # first match wins: aten op name substrings -> group
    ("attention", ("scaled_dot_product", "_softmax", "softmax", "bmm", "baddbmm")),
    ("matmul", ("addmm", "aten::mm", "matmul", "linear")),
    ("optimizer", ("_fused_adam", "_foreach", "addcdiv", "addcmul", "lerp", "sqrt", "zero_")),
    ("dropout", ("bernoulli", "dropout", "native_dropout")),
    ("layernorm", ("layer_norm",)),
    ("gelu", ("gelu",)),
    ("embedding/index", ("embedding", "index", "gather", "scatter", "nonzero", "masked", "take", "where")),
    ("loss", ("nll_loss", "log_softmax", "cross_entropy")),
    ("copy/cast", ("copy_", "to_copy", "clone", "contiguous", "cat", "fill_", "zeros", "empty")),
]


def group_of(name):
    for group, keys in GROUPS:
        if any(k in name for k in keys):
            return group
    return "other elementwise"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", choices=list(st.SIZES), default="6x384")
    p.add_argument("--systems", default="maelm_mlm,threeml_self", type=st.comma_list)
    p.add_argument("--peers", default="modernbert", type=st.comma_list)
    p.add_argument("--sample-break-mode", default="none", choices=st.ROW_KINDS)
    p.add_argument("--model-args", default="")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--top", type=int, default=18)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(a.threads)
    size = st.SIZES[a.size]
    args = st.parse_args(["--size", a.size, "--systems", ",".join(a.systems), "--peers", ",".join(a.peers),
                          "--steps", "2", "--fairseq-train-check", "off", "--model-args", a.model_args])
    data = st.build_data_bin(size["vocab"])
    vocab = len(st.load_dictionary(data))
    runners, _ = st.build_runners(args, size, data, a.sample_break_mode, size["seq_len"], size["batch"][0], vocab)
    for r in runners:
        r.step()
    # round robin, one profiled step at a time, so a load change on a shared machine hits every system alike
    per_op = {r.label: collections.defaultdict(lambda: [0.0, 0]) for r in runners}
    cpu = {r.label: [] for r in runners}
    for _ in range(a.steps):
        for r in runners:
            c0 = time.process_time()
            with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
                r.step()
            cpu[r.label].append(time.process_time() - c0)
            for e in prof.key_averages():
                if e.key.startswith("aten::"):
                    per_op[r.label][e.key][0] += e.self_cpu_time_total / 1e3 / a.steps
                    per_op[r.label][e.key][1] += e.count / a.steps
    groups_by = {}
    for r in runners:
        ops = per_op[r.label]
        total = sum(ms for ms, _ in ops.values())
        groups = collections.Counter()
        for key, (ms, _) in ops.items():
            groups[group_of(key)] += ms
        groups_by[r.label] = (total, groups)
        print(f"\n## {r.label}: {total:.0f} ms of aten self time per step (process CPU time "
              f"{1e3 * statistics.median(cpu[r.label]):.0f} ms, profiler overhead included)")
        for key, (ms, count) in sorted(ops.items(), key=lambda kv: -kv[1][0])[:a.top]:
            print(f"  {ms:8.1f} ms  {count:6.0f} calls  {key}")
    names = list(groups_by)
    keys = sorted({g for _, gs in groups_by.values() for g in gs}, key=lambda g: -groups_by[names[0]][1][g])
    print("\n| group (ms/step) | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for g in keys:
        print(f"| {g} | " + " | ".join(f"{groups_by[n][1][g]:.0f}" for n in names) + " |")
    print("| total | " + " | ".join(f"{groups_by[n][0]:.0f}" for n in names) + " |")


if __name__ == "__main__":
    sys.exit(main())
