"""Collect the reproduction's numbers (examples/repro/run.sh) into WORK/results.json, WORK/report.md and plots.

    python examples/repro/report.py WORK --updates 500 --seeds "1 2 3"
"""
import argparse
import glob
import json
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

from maelm_fairseq.analysis.rank_cli import plot as rank_plot  # noqa: E402

LABELS = {"mlm": "MLM (RoBERTa-style)", "maelm": "MAE-LM", "threeml_self": "3ML_self", "threeml_cross": "3ML_cross",
          "scratch": "no pretraining"}


def best_accuracy(log):
    values = [float(v) for v in re.findall(r"valid on 'valid' subset .*?\| accuracy ([\d.]+)", open(log).read())]
    return max(values) if values else None


def wall_seconds(log):
    m = re.search(r"done training in ([\d.]+) seconds", open(log).read())
    return float(m.group(1)) if m else None


def collect(work, updates, seeds):
    flops = json.load(open(os.path.join(work, "flops.json")))
    runs = []
    for path in sorted(glob.glob(os.path.join(work, "eval", "*.json"))):
        run = os.path.basename(path)[:-5]
        system, n = run.rsplit("-u", 1)
        n = int(n)
        ev = json.load(open(path))
        per_update = flops[system]["flops_per_update"]
        arms = []
        if n == updates:
            arms.append("equal updates")
        if n == flops[system]["equal_flops_updates"]:
            arms.append("equal FLOPs")
        runs.append({"run": run, "system": system, "updates": n, "arms": arms, "flops_per_update": per_update,
                     "train_flops": per_update * n, "relative_flops_per_update": flops[system]["relative"],
                     "pretrain_wall_s": wall_seconds(os.path.join(work, "logs", f"pretrain-{run}.log")),
                     "valid_loss_bits": ev["loss_bits"], "train_mask_prob": ev["train_mask_prob"]})
    scratch = {"run": "scratch", "system": "scratch"}  # the fine-tuning control without pretraining
    for r in runs + [scratch]:
        accs = {}
        for seed in seeds:
            log = os.path.join(work, "finetune", f"{r['run']}-seed{seed}.log")
            if os.path.isfile(log):
                accs[seed] = best_accuracy(log)
        r["finetune_accuracy"] = accs
        valid = [a for a in accs.values() if a is not None]
        r["finetune_median"] = statistics.median(valid) if valid else None
    runs.append(scratch)
    ranks = {}
    for path in sorted(glob.glob(os.path.join(work, "rank", "*.json"))):
        for model in json.load(open(path))["models"]:
            ranks[model["name"]] = model
    for r in runs:
        model = ranks.get(r["run"])
        if model:
            curve = lambda c, key="effective_rank": [row[key] for row in model["rows"] if row["condition"] == c]  # noqa
            r["effective_rank"] = {c: curve(c) for c in ("without_mask", "with_mask", "mask_tokens")}
            r["mask_energy_outside_real"] = curve("mask_tokens", "mask_energy_outside_real")
            r["mask_dominant_dims"] = curve("mask_tokens", "mask_dominant_dims")
    return runs, ranks


def unigram_bits(work):
    """Cross-entropy (bits/token) of the validation tokens under the training unigram distribution (dict.txt counts,
    add-one): what a masked-LM that ignores the context would score."""
    import math

    from fairseq.data import Dictionary, data_utils

    d = Dictionary.load(os.path.join(work, "data-bin", "dict.txt"))
    counts = [c + 1 for c in d.count]
    total = sum(counts[d.nspecial:])
    dataset = data_utils.load_indexed_dataset(os.path.join(work, "data-bin", "valid"), d)
    bits = n = 0
    for i in range(len(dataset)):
        for t in dataset[i].tolist():
            if t >= d.nspecial:
                bits -= math.log2(counts[t] / total)
                n += 1
    return bits / n


def fmt(x, digits=2):
    return "–" if x is None else f"{x:.{digits}f}"


def markdown(runs, updates, seeds):
    lines = [f"Budget: {updates} updates (equal-updates arm); fine-tuning seeds {' '.join(map(str, seeds))}.", "",
             "| run | arms | updates | train FLOPs (TFLOP) | FLOPs/update vs MLM | pretrain wall (s) | valid MLM loss "
             "@0.15 (bits) | @train rate | fine-tune acc. per seed | median |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        seeds_acc = " / ".join(fmt(a, 1) for a in r["finetune_accuracy"].values())
        if r["system"] == "scratch":
            lines.append(f"| {LABELS['scratch']} | control | 0 | 0 | – | – | – | – | {seeds_acc} | "
                         f"{fmt(r['finetune_median'], 1)} |")
            continue
        loss = r["valid_loss_bits"]
        own = loss.get(f"{r['train_mask_prob']:g}")
        lines.append(f"| {LABELS[r['system']]} ({r['run']}) | {', '.join(r['arms'])} | {r['updates']} | "
                     f"{r['train_flops'] / 1e12:.2f} | {r['relative_flops_per_update']:.3f} | "
                     f"{fmt(r['pretrain_wall_s'], 0)} | {fmt(loss.get('0.15'), 3)} | {fmt(own, 3)} | {seeds_acc} | "
                     f"{fmt(r['finetune_median'], 1)} |")
    lines += ["", "Effective rank of real-token representations per layer (0 = embeddings), inputs without / with "
                  "15 % [MASK]:", "",
              "| run | without [MASK] | with [MASK] | last layer: with − without | [MASK] tokens | [MASK] energy "
              "outside real 99 % subspace (last layer) | [MASK]-dominant dims (last layer) |",
              "|---|---|---|---|---|---|---|"]
    for r in runs:
        er = r.get("effective_rank")
        if not er:
            continue
        lines.append(f"| {r['run']} | {' '.join(fmt(x, 1) for x in er['without_mask'])} | "
                     f"{' '.join(fmt(x, 1) for x in er['with_mask'])} | "
                     f"{er['with_mask'][-1] - er['without_mask'][-1]:+.2f} | "
                     f"{' '.join(fmt(x, 1) for x in er['mask_tokens'])} | {r['mask_energy_outside_real'][-1]:.3f} | "
                     f"{r['mask_dominant_dims'][-1]} |")
    return "\n".join(lines) + "\n"


def summary_plot(path, runs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    systems = [s for s in LABELS if s != "scratch"]
    for arm, offset, hatch in (("equal updates", -0.2, None), ("equal FLOPs", 0.2, "//")):
        rows = {r["system"]: r for r in runs if arm in r.get("arms", [])}
        xs = [i + offset for i, s in enumerate(systems) if s in rows]
        ax_loss.bar(xs, [rows[s]["valid_loss_bits"]["0.15"] for s in systems if s in rows], 0.4, hatch=hatch,
                    label=arm, alpha=0.8)
        ax_acc.bar(xs, [rows[s]["finetune_median"] or 0 for s in systems if s in rows], 0.4, hatch=hatch, label=arm,
                   alpha=0.8)
    scratch = [r for r in runs if r["system"] == "scratch"]
    if scratch and scratch[0]["finetune_median"]:
        ax_acc.axhline(scratch[0]["finetune_median"], color="gray", ls="--", label="no pretraining")
    for ax, title in ((ax_loss, "valid masked-LM loss at 15 % masking (bits, lower is better)"),
                      (ax_acc, "sentence-pair accuracy, median of seeds (%)")):
        ax.set_xticks(range(len(systems)))
        ax.set_xticklabels([LABELS[s] for s in systems], fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    values = [r["valid_loss_bits"]["0.15"] for r in runs if r.get("valid_loss_bits")]
    if values:
        ax_loss.set_ylim(min(values) - 0.3, max(values) + 0.2)
    accs = [r["finetune_median"] for r in runs if r.get("finetune_median")]
    if accs:
        ax_acc.set_ylim(min(accs) - 5, max(accs) + 3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work")
    parser.add_argument("--updates", type=int, required=True)
    parser.add_argument("--seeds", default="1 2 3")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split()]
    runs, ranks = collect(args.work, args.updates, seeds)
    with open(os.path.join(args.work, "results.json"), "w") as fh:
        json.dump(runs, fh, indent=1)
    text = markdown(runs, args.updates, seeds)
    unigram = unigram_bits(args.work)
    text += f"\nContext-free reference: the training unigram distribution scores {unigram:.3f} bits per valid token.\n"
    with open(os.path.join(args.work, "unigram_bits.json"), "w") as fh:
        json.dump({"unigram_bits": unigram}, fh)
    with open(os.path.join(args.work, "report.md"), "w") as fh:
        fh.write(text)
    equal_updates = [ranks[r["run"]] for r in runs if "equal updates" in r.get("arms", []) and r["run"] in ranks]
    if equal_updates:
        rank_plot(os.path.join(args.work, "effective_rank.png"), equal_updates,
                  f"effective rank per layer, tiny models after {args.updates} updates (solid: no [MASK] in the "
                  f"input, dashed: 15 % [MASK])")
    summary_plot(os.path.join(args.work, "loss_accuracy.png"), runs)
    print(text)


if __name__ == "__main__":
    main()
