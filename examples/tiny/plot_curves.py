"""The demo's pretraining curves as a PNG: train and valid masked-LM loss (bits per masked token) over updates, read
from fairseq-train's log, with the unigram model of the same data as a horizontal line (under it = context used).

    python examples/tiny/plot_curves.py WORK/pretrain.log --unigram 9.24 --output WORK/pretrain_loss.png
"""
import argparse
import sys

from maelm_fairseq.evaluation.training_log import train_curve, valid_curve


def plot_pretraining_loss(log_text, unigram, path):
    """Write the PNG; returns what was drawn, {label: ([updates], [bits])}. ValueError when the log has no loss."""
    train, valid = train_curve(log_text, "loss"), valid_curve(log_text, "loss")
    if not train and not valid:
        raise ValueError("no train_inner or valid loss in the log (did fairseq-train run with --log-format simple?)")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for points, label, style in ((train, "train (every log interval)", "-"), (valid, "valid", "o-")):
        if points:
            ax.plot(*zip(*points), style, label=label)
    updates = [u for u, _ in train + valid]
    ax.plot([min(updates), max(updates)], [unigram, unigram], "--", color="gray",
            label=f"unigram model of the same data ({unigram:.2f})")
    ax.set_xlabel("updates")
    ax.set_ylabel("masked-LM loss (bits per masked token)")
    ax.set_title("pretraining: below the unigram line, the model uses context", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    drawn = {line.get_label(): (list(line.get_xdata()), list(line.get_ydata())) for line in ax.get_lines()}
    plt.close(fig)
    return drawn


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log", help="fairseq-train's output (--log-format simple)")
    parser.add_argument("--unigram", type=float, required=True, help="unigram reference, bits per masked token")
    parser.add_argument("--output", required=True, help="PNG to write")
    args = parser.parse_args()
    with open(args.log) as fh:
        text = fh.read()
    try:
        plot_pretraining_loss(text, args.unigram, args.output)
    except ValueError as e:
        print(f"error: {args.log}: {e}", file=sys.stderr)
        sys.exit(2)
    print(f"loss curves: {args.output}")


if __name__ == "__main__":
    main()
