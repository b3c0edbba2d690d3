"""Collect the reproduction's numbers (examples/repro/run.sh) into WORK/results.json, WORK/report.md and plots.

    python examples/repro/report.py WORK [--seeds "1 2 3 4 5"] [--tasks "word-order topic rt-2k rt-full"]

Reads WORK/flops.json (the runs and their arms), WORK/unigram.json, WORK/eval/RUN.json (mlm_loss.py),
WORK/logs/pretrain-RUN.log (learning curves), WORK/logs/finetune-TASK-RUN-seedS.log (best validation accuracy per
seed) and WORK/rank/RUN.json (maelm-rank). Writes, besides report.md and results.json:
    valid_loss_curves.png   validation masked-LM loss over updates, every run (each at its own masking rate)
    enc_erank_curves.png    effective rank of the last encoder layer's real-token rows over updates (train log)
    effective_rank.png      maelm-rank per layer of the equal-updates runs, inputs without / with [MASK]
    loss_accuracy.png       valid loss against the unigram reference; fine-tuning accuracy per task, mean +- std

Fine-tuning comparisons use Welch's t test over seeds (maelm_fairseq/evaluation/welch.py): "exceeds seed noise"
when p < 0.05. Per task, the best pretrained encoder (highest mean) is also tested against the control.
"""
import argparse
import json
import os
import statistics

from maelm_fairseq.evaluation import training_log
from maelm_fairseq.evaluation.welch import welch

LABELS = {"mlm": "MLM", "maelm": "MAE-LM", "threeml_self": "3ML_self", "threeml_cross": "3ML_cross",
          "scratch": "no pretraining"}
SYSTEMS = ("mlm", "maelm", "threeml_self", "threeml_cross")
ALPHA = 0.05
UNIGRAM_MARGIN_BITS = 1.0


# ---- reading logs

def read(path):
    with open(path) as fh:
        return fh.read()


def best_accuracy(log):
    """Best validation accuracy over the epochs of one fine-tuning run (fairseq's GLUE practice), or None."""
    return training_log.best_valid(read(log), "accuracy")


def wall_seconds(log):
    return training_log.wall_seconds(read(log))


def valid_curve(log):
    """[(updates, valid loss in bits)] from fairseq's validation lines."""
    return training_log.valid_curve(read(log), "loss")


def train_curve(log, key):
    """[(updates, value of `key`)] from fairseq's train_inner lines."""
    return training_log.train_curve(read(log), key)


def tokens_seen(log):
    """Real tokens of the pretraining run: mean words-per-batch of the train_inner lines x updates (None if no log)."""
    wpb = train_curve(log, "wpb")
    return statistics.fmean(v for _, v in wpb) * wpb[-1][0] if wpb else None


def load_json(path):
    return json.loads(read(path)) if os.path.isfile(path) else None


# ---- collecting

def seed_summary(accuracies):
    """{"per_seed", "n", "mean", "std"} of one run on one task; std is the sample standard deviation."""
    values = [a for a in accuracies.values() if a is not None]
    return {"per_seed": accuracies, "n": len(values), "mean": statistics.fmean(values) if values else None,
            "std": statistics.stdev(values) if len(values) > 1 else None}


def finetune_results(work, run, tasks, seeds):
    results = {}
    for task in tasks:
        logs = {seed: os.path.join(work, "logs", f"finetune-{task}-{run}-seed{seed}.log") for seed in seeds}
        results[task] = seed_summary({seed: best_accuracy(log) for seed, log in logs.items() if os.path.isfile(log)})
    return results


def pretrain_run(work, run, row, flops, unigram):
    """One pretraining run: plan (flops.json), valid loss (eval/RUN.json) and its gap to the unigram, curves."""
    log = os.path.join(work, "logs", f"pretrain-{run}.log")
    has_log = os.path.isfile(log)
    ev = load_json(os.path.join(work, "eval", f"{run}.json")) or {}
    loss = ev.get("loss_bits", {})
    system = flops["systems"][row["system"]]
    return {"run": run, "system": row["system"], "updates": row["updates"], "arms": row["arms"],
            "flops_per_update": system["flops_per_update"], "train_flops": row["train_flops"],
            "relative_flops_per_update": system["relative"], "tokens_nominal": row["tokens"],
            "tokens_seen": tokens_seen(log) if has_log else None,
            "pretrain_wall_s": wall_seconds(log) if has_log else None,
            "valid_loss_bits": loss, "train_mask_prob": ev.get("train_mask_prob"),
            "unigram_gap_bits": unigram_gap(loss, ev.get("unigram_bits", {}), unigram),
            "curves": {"valid_loss": valid_curve(log) if has_log else [],
                       "enc_erank": train_curve(log, "enc_erank") if has_log else []}}


def unigram_gap(loss, same_tokens, unigram):
    """Valid loss at 15 % masking minus the unigram model's, on the very tokens scored (mlm_loss.py) when known,
    else minus the split's expected unigram bits (unigram.json)."""
    if "0.15" not in loss:
        return None
    reference = same_tokens.get("0.15", unigram)
    return None if reference is None else loss["0.15"] - reference


def attach_rank(work, r):
    result = load_json(os.path.join(work, "rank", f"{r['run']}.json"))
    if not result:
        return
    rows = result["models"][0]["rows"]
    curve = lambda c, key="effective_rank": [row[key] for row in rows if row["condition"] == c]  # noqa: E731
    r["effective_rank"] = {c: curve(c) for c in ("without_mask", "with_mask", "mask_tokens")}
    r["mask_energy_outside_real"] = curve("mask_tokens", "mask_energy_outside_real")
    r["mask_dominant_dims"] = curve("mask_tokens", "mask_dominant_dims")
    r["rank_model"] = result["models"][0]


def collect(work, seeds, tasks):
    flops = load_json(os.path.join(work, "flops.json"))
    unigram = (load_json(os.path.join(work, "unigram.json")) or {}).get("unigram_bits")
    runs = [pretrain_run(work, run, row, flops, unigram) for run, row in flops["runs"].items()]
    runs.append({"run": "scratch", "system": "scratch", "updates": 0, "arms": ["control"]})
    for r in runs:
        r["finetune"] = finetune_results(work, r["run"], tasks, seeds)
        if r["system"] != "scratch":
            attach_rank(work, r)
    return runs, unigram


def read_settings(work):
    """{VAR: value} of WORK/settings.env (the preset values in effect, written by run.sh), {} without it."""
    import shlex

    path = os.path.join(work, "settings.env")
    if not os.path.isfile(path):
        return {}
    return dict(shlex.split(line)[0].split("=", 1) for line in read(path).splitlines() if "=" in line)


def find_run(runs, system, arm):
    return next((r for r in runs if r["system"] == system and arm in r["arms"]), None)


# ---- comparisons

def verdict(test):
    if test is None:
        return "not testable (fewer than 2 seeds)"
    return "exceeds seed noise" if test["p"] < ALPHA else "within seed noise"


def compare(group, claim, a, b, task):
    """Welch's t test of fine-tuning accuracy, run a minus run b, on one task."""
    fa, fb = a["finetune"][task], b["finetune"][task]
    test = welch([v for v in fa["per_seed"].values() if v is not None],
                 [v for v in fb["per_seed"].values() if v is not None])
    return {"group": group, "claim": claim, "task": task, "a": a["run"], "b": b["run"], "mean_a": fa["mean"],
            "mean_b": fb["mean"], "n_a": fa["n"], "n_b": fb["n"], **(test or {"diff": None}),
            "verdict": verdict(test)}


def comparisons(runs, tasks):
    """The comparisons the papers make: (a) 3ML vs MLM at equal FLOPs, (b) MAE-LM vs MLM, (c) each vs control."""
    mlm, scratch = find_run(runs, "mlm", "equal updates"), find_run(runs, "scratch", "control")
    pairs = []
    for system in ("threeml_self", "threeml_cross"):
        pairs.append(("a", "3ML: equal or better quality at less compute", find_run(runs, system, "equal FLOPs"), mlm))
    for arm in ("equal updates", "equal FLOPs"):
        pairs.append(("b", f"MAE-LM fine-tunes better than MLM ({arm})", find_run(runs, "maelm", arm), mlm))
    for r in runs:
        if r["system"] != "scratch":
            pairs.append(("c", "pretraining helps fine-tuning", r, scratch))
    return [compare(group, claim, a, b, task) for group, claim, a, b in pairs if a and b for task in tasks]


def best_vs_scratch(runs, tasks):
    """{task: Welch test of the pretrained run with the highest mean accuracy vs the no-pretraining control}."""
    scratch = find_run(runs, "scratch", "control")
    best = {}
    for task in tasks:
        scored = [r for r in runs if r["system"] != "scratch" and r["finetune"][task]["mean"] is not None]
        if scratch and scored:
            top = max(scored, key=lambda r: r["finetune"][task]["mean"])
            best[task] = compare("best", "the best pretrained encoder beats no pretraining", top, scratch, task)
    return best


def rank_claim(runs):
    """MAE-LM: real-token effective rank (last layer) without [MASK] vs MLM's with [MASK] in the input."""
    maelm, mlm = find_run(runs, "maelm", "equal updates"), find_run(runs, "mlm", "equal updates")
    if not (maelm and mlm and maelm.get("effective_rank") and mlm.get("effective_rank")):
        return None
    a, b = maelm["effective_rank"]["without_mask"][-1], mlm["effective_rank"]["with_mask"][-1]
    return {"maelm_without_mask": a, "mlm_with_mask": b, "mlm_without_mask": mlm["effective_rank"]["without_mask"][-1],
            "holds": a > b, "a": maelm["run"], "b": mlm["run"]}


def unigram_check(runs, unigram):
    """Is every pretrained run's valid loss (15 % masking) at least UNIGRAM_MARGIN_BITS under the unigram?"""
    gaps = {r["run"]: r["unigram_gap_bits"] for r in runs if r["system"] != "scratch"}
    known = {run: g for run, g in gaps.items() if g is not None}
    if unigram is None or not known:
        return None
    worst = max(known, key=known.get)
    return {"all_at_least_margin_under": len(known) == len(gaps) and known[worst] <= -UNIGRAM_MARGIN_BITS,
            "margin_bits": UNIGRAM_MARGIN_BITS, "worst_run": worst, "worst_gap_bits": known[worst],
            "missing": sorted(set(gaps) - set(known))}


# ---- markdown

def fmt(x, digits=2, signed=False):
    if x is None:
        return "–"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def run_label(r):
    return f"{LABELS[r['system']]} ({r['run']})"


def runs_table(runs, tasks):
    head = ("| run | arms | updates | train FLOPs (PFLOP) | FLOPs/update vs MLM | tokens seen (M) | valid loss @0.15 "
            "(bits) | − unigram | @train rate | " + " | ".join(f"{t}: mean ± std (%)" for t in tasks) + " |")
    lines = [head, "|" + "---|" * (9 + len(tasks))]
    for r in runs:
        acc = " | ".join(f"{fmt(r['finetune'][t]['mean'], 1)} ± {fmt(r['finetune'][t]['std'], 1)}" for t in tasks)
        if r["system"] == "scratch":
            lines.append(f"| {LABELS['scratch']} | control | 0 | 0 | – | – | – | – | – | {acc} |")
            continue
        loss = r["valid_loss_bits"]
        own = loss.get(f"{r['train_mask_prob']:g}") if r["train_mask_prob"] is not None else None
        tokens = r["tokens_seen"] / 1e6 if r["tokens_seen"] else None
        lines.append(f"| {run_label(r)} | {', '.join(r['arms'])} | {r['updates']} | {r['train_flops'] / 1e15:.3f} | "
                     f"{r['relative_flops_per_update']:.3f} | {fmt(tokens, 1)} | {fmt(loss.get('0.15'), 3)} | "
                     f"{fmt(r['unigram_gap_bits'], 3, signed=True)} | {fmt(own, 3)} | {acc} |")
    return lines


def seeds_table(runs, tasks):
    lines = ["| run | " + " | ".join(f"{t}: accuracy per seed (%)" for t in tasks) + " |",
             "|---|" + "---|" * len(tasks)]
    for r in runs:
        cells = [" / ".join(f"{s}: {fmt(a, 1)}" for s, a in r["finetune"][t]["per_seed"].items()) for t in tasks]
        lines.append(f"| {r['run']} | " + " | ".join(cells) + " |")
    return lines


def comparison_line(c):
    head = f"({c['group']}) {c['a']} vs {c['b']}, {c['task']}: {fmt(c['mean_a'])} vs {fmt(c['mean_b'])} %"
    if c["diff"] is None:
        return f"- {head}: {c['verdict']}"
    return (f"- {head}, difference {fmt(c['diff'], signed=True)} points, Welch t = {fmt(c['t'], signed=True)} "
            f"(df {c['df']:.1f}), p = {c['p']:.3g}: **{c['verdict']}**")


def loss_lines(runs, group):
    """Valid masked-LM loss (15 % masking, one pretraining seed) of the runs group (a) or (b) compares with MLM."""
    mlm = find_run(runs, "mlm", "equal updates")
    pairs = ([(find_run(runs, s, "equal FLOPs"), mlm) for s in ("threeml_self", "threeml_cross")] if group == "a" else
             [(find_run(runs, "maelm", arm), mlm) for arm in ("equal updates", "equal FLOPs")])
    lines = []
    for a, b in pairs:
        la, lb = (r["valid_loss_bits"].get("0.15") if r else None for r in (a, b))
        if la is not None and lb is not None:
            lines.append(f"- valid loss at 15 % masking: {a['run']} {la:.3f} vs {b['run']} {lb:.3f} bits "
                         f"({la - lb:+.3f}; lower is better; one pretraining seed, no noise estimate), at "
                         f"{a['train_flops'] / b['train_flops']:.3f} x MLM's training FLOPs")
    return lines


def best_section(best):
    if not best:
        return []
    return ["", "**The best pretrained encoder (highest mean, per task) vs the no-pretraining control** — picked "
                "after the fact among the encoders, so its p is optimistic", ""] + [
        comparison_line(c) for c in best.values()]


def comparisons_section(comps, runs, rank):
    lines = ["## Comparisons (fine-tuning accuracy over seeds; Welch's t test, two-sided, "
             f"\"exceeds seed noise\" when p < {ALPHA})"]
    for group, title in (("a", "(a) 3ML_self / 3ML_cross vs MLM at equal FLOPs — 3ML: equal or better quality at "
                                "less compute"),
                         ("b", "(b) MAE-LM vs MLM — MAE-LM: better fine-tuning, and higher real-token effective rank "
                               "without [MASK] than MLM's with [MASK]"),
                         ("c", "(c) every pretrained model vs the no-pretraining control")):
        lines += ["", f"**{title}**", ""] + [comparison_line(c) for c in comps if c["group"] == group]
        if group in ("a", "b"):
            lines += loss_lines(runs, group)
        if group == "b" and rank:
            lines.append(f"- effective rank of real tokens, last encoder layer: MAE-LM without [MASK] "
                         f"{rank['maelm_without_mask']:.1f} vs MLM with [MASK] {rank['mlm_with_mask']:.1f} "
                         f"(MLM without [MASK] {rank['mlm_without_mask']:.1f}): "
                         f"**{'higher' if rank['holds'] else 'not higher'}** (one pretraining seed, no noise estimate)")
    return lines


def unigram_section(check, unigram):
    if check is None:
        return [f"Unigram reference: {fmt(unigram, 3)} bits per valid token (no model loss to compare yet)."]
    answer = "yes" if check["all_at_least_margin_under"] else "no"
    line = (f"Unigram reference: {unigram:.3f} bits per valid token (training unigram). Every system at least "
            f"{check['margin_bits']:g} bit under it at 15 % masking: **{answer}** (closest: {check['worst_run']}, "
            f"{check['worst_gap_bits']:+.3f} bits)")
    if check["missing"]:
        line += f"; no valid loss for {', '.join(check['missing'])}"
    return [line + "."]


def markdown(runs, unigram, comps, best, rank, check, seeds, tasks):
    lines = [f"Fine-tuning seeds: {' '.join(map(str, seeds))}; tasks: {', '.join(tasks)}; accuracy = best validation "
             "epoch per seed; mean ± sample std over seeds."]
    if any(task.startswith("rt-") for task in tasks):
        lines.append("Rotten Tomatoes (preprocess/labelled/packaged.py): rt-2k fine-tunes on its 2,000-snippet train "
                     "subset, rt-full on all of train.tsv; both are scored on the same fixed 2,000-snippet valid set.")
    lines.append("")
    lines += unigram_section(check, unigram) + [""] + runs_table(runs, tasks)
    lines += ["", "Per seed:", ""] + seeds_table(runs, tasks) + [""] + comparisons_section(comps, runs, rank)
    lines += best_section(best)
    lines += ["", "Effective rank of real-token representations per layer (0 = embeddings), inputs without / with "
                  "15 % [MASK]:", "",
              "| run | without [MASK] | with [MASK] | last layer: with − without | [MASK] tokens | [MASK] energy "
              "outside real 99 % subspace (last layer) | [MASK]-dominant dims (last layer) |",
              "|---|---|---|---|---|---|---|"]
    for r in runs:
        er = r.get("effective_rank")
        if er:
            lines.append(f"| {r['run']} | {' '.join(fmt(x, 1) for x in er['without_mask'])} | "
                         f"{' '.join(fmt(x, 1) for x in er['with_mask'])} | "
                         f"{er['with_mask'][-1] - er['without_mask'][-1]:+.2f} | "
                         f"{' '.join(fmt(x, 1) for x in er['mask_tokens'])} | "
                         f"{r['mask_energy_outside_real'][-1]:.3f} | {r['mask_dominant_dims'][-1]} |")
    return "\n".join(lines) + "\n"


# ---- plots

def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def curves_plot(path, runs, key, ylabel, title):
    """One line per run over updates: colour = system, solid = equal updates, dashed = equal-FLOPs-only run."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colors = dict(zip(SYSTEMS, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for r in runs:
        points = r.get("curves", {}).get(key)
        if points:
            ax.plot(*zip(*points), "-" if "equal updates" in r["arms"] else "--", color=colors[r["system"]],
                    marker="." if len(points) < 40 else None, label=r["run"])
    ax.set_xlabel("updates")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary_plot(path, runs, unigram, tasks):
    """Valid loss (bars per arm, unigram line) and, per task, accuracy mean +- std (control as a band)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 1 + len(tasks), figsize=(5 * (1 + len(tasks)), 4))
    scratch = find_run(runs, "scratch", "control")
    for arm, offset, hatch in (("equal updates", -0.2, None), ("equal FLOPs", 0.2, "//")):
        rows = [(i + offset, find_run(runs, s, arm)) for i, s in enumerate(SYSTEMS)]
        rows = [(x, r) for x, r in rows if r]
        losses = [(x, r["valid_loss_bits"].get("0.15")) for x, r in rows]
        axes[0].bar([x for x, v in losses if v], [v for x, v in losses if v], 0.4, hatch=hatch, label=arm, alpha=0.8)
        for ax, task in zip(axes[1:], tasks):
            stats = [(x, r["finetune"][task]) for x, r in rows if r["finetune"][task]["mean"] is not None]
            ax.bar([x for x, _ in stats], [s["mean"] for _, s in stats], 0.4, yerr=[s["std"] or 0 for _, s in stats],
                   capsize=3, hatch=hatch, label=arm, alpha=0.8)
    if unigram is not None:
        axes[0].axhline(unigram, color="gray", ls="--", label="unigram reference")
    for ax, task in zip(axes[1:], tasks):
        s = scratch["finetune"][task]
        if s["mean"] is not None:
            ax.axhline(s["mean"], color="gray", ls="--", label="no pretraining (mean ± std)")
            ax.axhspan(s["mean"] - (s["std"] or 0), s["mean"] + (s["std"] or 0), color="gray", alpha=0.15)
        ax.set_title(f"{task}: accuracy, mean ± std over seeds (%)", fontsize=9)
    losses = [r["valid_loss_bits"]["0.15"] for r in runs if "0.15" in r.get("valid_loss_bits", {})]
    if losses:  # zoom in: the differences are fractions of a bit
        axes[0].set_ylim(min(losses) - 0.3, max(losses + ([unigram] if unigram is not None else [])) + 0.2)
    axes[0].set_title("valid masked-LM loss at 15 % masking (bits, lower is better)", fontsize=9)
    for ax in axes:
        ax.set_xticks(range(len(SYSTEMS)))
        ax.set_xticklabels([LABELS[s] for s in SYSTEMS], fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_plots(work, runs, unigram, tasks):
    curves_plot(os.path.join(work, "valid_loss_curves.png"), runs, "valid_loss", "valid loss (bits / predicted token)",
                "validation masked-LM loss (each run at its own masking rate; dashed: equal-FLOPs-only runs)")
    curves_plot(os.path.join(work, "enc_erank_curves.png"), runs, "enc_erank", "enc_erank (train log)",
                "effective rank of the last encoder layer's real-token rows (collapse: -> 1)")
    summary_plot(os.path.join(work, "loss_accuracy.png"), runs, unigram, tasks)
    ranked = [r["rank_model"] for r in runs if "equal updates" in r["arms"] and "rank_model" in r]
    if ranked:
        from maelm_fairseq.analysis.rank_cli import plot as rank_plot

        rank_plot(os.path.join(work, "effective_rank.png"), ranked, "effective rank per layer, equal-updates runs "
                  "(solid: no [MASK] in the input, dashed: 15 % [MASK])")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work")
    parser.add_argument("--seeds", default="1 2 3 4 5")
    parser.add_argument("--tasks", default="word-order topic rt-2k rt-full")
    args = parser.parse_args()
    seeds, tasks = [int(s) for s in args.seeds.split()], args.tasks.split()
    runs, unigram = collect(args.work, seeds, tasks)
    comps, rank, check = comparisons(runs, tasks), rank_claim(runs), unigram_check(runs, unigram)
    best = best_vs_scratch(runs, tasks)
    text = markdown(runs, unigram, comps, best, rank, check, seeds, tasks)
    results = {"settings": {"seeds": seeds, "tasks": tasks, "alpha": ALPHA, "preset": read_settings(args.work)},
               "unigram_bits": unigram,
               "unigram_check": check, "runs": [{k: v for k, v in r.items() if k != "rank_model"} for r in runs],
               "comparisons": comps, "best_vs_scratch": best, "rank_claim": rank}
    with open(os.path.join(args.work, "results.json"), "w") as fh:
        json.dump(results, fh, indent=1)
    with open(os.path.join(args.work, "report.md"), "w") as fh:
        fh.write(text)
    write_plots(args.work, runs, unigram, tasks)
    print(text)


if __name__ == "__main__":
    main()
