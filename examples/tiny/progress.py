"""Condense fairseq-train's log (stdin) into one line per log interval and per validation, with the unigram
reference beside the valid loss, so the demo shows the model leaving the plateau while it trains.

    fairseq-train ... 2>&1 | python examples/tiny/progress.py --unigram 9.24
"""
import argparse
import sys

from maelm_fairseq.evaluation.training_log import TRAIN_LINE, VALID_LINE, line_values


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--unigram", type=float, required=True, help="unigram reference, bits per masked token")
    args = parser.parse_args()
    print(f"unigram model of this data: {args.unigram:.3f} bits per masked token (no context); "
          f"the model's loss starts near log2(vocab) and must go under it to show it uses context", flush=True)
    for line in sys.stdin:
        if TRAIN_LINE in line:
            f = line_values(line)
            print(f"  update {f['num_updates']:5.0f}  train loss {f['loss']:6.3f}  enc_erank {f['enc_erank']:6.1f}"
                  f"  {f['wps']:7.0f} tokens/s", flush=True)
        elif VALID_LINE in line:
            f = line_values(line)
            gap = args.unigram - f["loss"]
            print(f"  update {f['num_updates']:5.0f}  VALID loss {f['loss']:6.3f}  = {gap:+.3f} bits "
                  f"{'under' if gap >= 0 else 'over'} the unigram model", flush=True)
        elif "done training" in line:
            print("  " + line.split("| ")[-1].strip(), flush=True)
        elif "Traceback" in line or line.startswith(("error:", "fairseq-train: error")):
            sys.stdout.write(line + sys.stdin.read())  # a failure: show all of it
            sys.exit(1)


if __name__ == "__main__":
    main()
