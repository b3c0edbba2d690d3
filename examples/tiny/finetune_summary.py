"""The demo's fine-tuning verdict: best valid accuracy per seed of the runs from the pretrained encoder and from
scratch, mean +- sample std, and whether the difference exceeds the seed noise (Welch's t test, p < 0.05).

    python examples/tiny/finetune_summary.py WORK --seeds 1 2 3 --task NAME --valid-tsv VALID.tsv
"""
import argparse
import collections
import os
import statistics

from maelm_fairseq.evaluation import training_log
from maelm_fairseq.evaluation.welch import welch
from preprocess.labelled.read_examples import Example, read_examples

NEAR_CHANCE = 5.0  # points above the majority class under which a difference says little about the encoders


def majority_percent(tsv):
    """Accuracy of always answering the most frequent label of the valid set (its `label` column)."""
    rows = read_examples(tsv, ["sentence"], "label", labelled=True)  # maelm-prepare-labelled's reader
    labels = collections.Counter(row.label for row in rows if isinstance(row, Example))  # not its BadRows
    return 100.0 * max(labels.values()) / sum(labels.values())


def best_accuracy(log):
    with open(log) as fh:
        best = training_log.best_valid(fh.read(), "accuracy")
    if best is None:
        raise SystemExit(f"error: {log}: no validation accuracy in the log; the fine-tuning run failed (see the log)")
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work")
    parser.add_argument("--seeds", nargs="+", type=int, required=True)
    parser.add_argument("--task", required=True, help="the task's name, as printed")
    parser.add_argument("--valid-tsv", required=True, help="its valid set (label column): gives the majority class")
    args = parser.parse_args()
    chance = majority_percent(args.valid_tsv)
    acc = {arm: [best_accuracy(os.path.join(args.work, f"finetune-{arm}-seed{s}.log")) for s in args.seeds]
           for arm in ("pretrained", "scratch")}
    print(f"{args.task}, valid accuracy (best epoch per seed; majority class {chance:.1f}%):")
    for arm, label in (("pretrained", "from the MAE-LM encoder"), ("scratch", "from random initialisation")):
        values = acc[arm]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"  {label:27s} {statistics.fmean(values):5.1f} +- {spread:4.1f}%   "
              f"(seeds: {' '.join(f'{v:.1f}' for v in values)})")
    test = welch(acc["pretrained"], acc["scratch"])
    best = max(statistics.fmean(values) for values in acc.values())
    if best < chance + NEAR_CHANCE:
        print(f"  both arms are within {NEAR_CHANCE:g} points of the majority class: the task is barely learned in "
              f"this budget, whatever the test below says")
    if test is None:
        print("  one seed per arm: no statement about seed noise possible (give SEEDS with 2 or more seeds)")
    elif test["p"] < 0.05 and test["diff"] > 0:
        print(f"  pretraining helps: +{test['diff']:.1f} points, more than the seed noise (Welch p = {test['p']:.3f})")
    else:
        verdict = "gain" if test["diff"] > 0 else "difference"
        print(f"  no gain from pretraining beyond the seed noise here: {verdict} {test['diff']:+.1f} points, "
              f"Welch p = {test['p']:.2f} over {len(args.seeds)} seeds per arm")


if __name__ == "__main__":
    main()
