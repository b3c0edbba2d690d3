"""maelm-squad-predict: a fine-tuned SQuAD checkpoint's answers, written in the official submission format.

    maelm-squad-predict CHECKPOINT --data FEATURES_DIR --out DIR [--null-score-diff-threshold T]

FEATURES_DIR is the --output of preprocess/squad/prepare_squad.py; the questions answered are those of its valid.pt
(made from --valid-json). Writes

  DIR/predictions.json  {question id: answer text}; "" where the model answers that there is no answer (v2.0)
  DIR/null_odds.json    v2.0 only: {question id: null score minus the best span's score}, the official script's
                        --na-prob-file (Infinity where no window holds an admissible span)

and prints the official metrics of these answers: the numbers validation logs during fine-tuning, and the numbers
the official script gives on the files, `python evaluate-v2.0.py dev-v2.0.json DIR/predictions.json
--na-prob-file DIR/null_odds.json` (v1.1: `python evaluate-v1.1.py dev-v1.1.json DIR/predictions.json`).
"""
import argparse
import json
import os
import sys

import torch

from ..errors import UserInputError, console_main
from ..evaluation.inference import build_finetuned, read_checkpoint, validation_batches
from .criterion import WINDOWS_KEY, SquadCriterion

SPLIT = "valid"  # prepare_squad.py writes the questions of --valid-json there
FIX = "pass the checkpoint_best.pt of a SQuAD fine-tuning (examples/squad/run.sh)"


def predict(checkpoint, data, null_threshold=None):
    """(answers, null scores or None for v1.1, official metrics) of the checkpoint on DATA/valid.pt."""
    overrides = {} if null_threshold is None else {"null_score_diff_threshold": null_threshold}
    model, task, cfg = build_finetuned(checkpoint, read_checkpoint(checkpoint, "maelm_squad", data, FIX, **overrides))
    task.load_dataset(SPLIT)
    if null_threshold is not None and task.stored[SPLIT]["squad_version"] != "v2.0":
        raise UserInputError(f"--null-score-diff-threshold: {data}/{SPLIT}.pt holds SQuAD v1.1 questions, which are "
                             "all answerable — drop the flag")
    criterion = SquadCriterion(task)  # the validation's own path from logits to windows
    windows = {}
    with torch.no_grad():
        for sample in validation_batches(task, SPLIT, model, cfg):
            windows.update(criterion(model, sample)[2][WINDOWS_KEY][1])
    answers, null_scores = task.answers(SPLIT, windows)
    return answers, null_scores, task.score(SPLIT, answers, null_scores)


def write_submission(output, answers, null_scores):
    """The official files, question ids in the order of the questions (the official threshold sweep breaks ties
    between equal null odds in file order, as validation does in question order). Returns their paths."""
    os.makedirs(output, exist_ok=True)
    files = {"predictions.json": answers}
    if null_scores is not None:
        files["null_odds.json"] = null_scores
    for name, content in files.items():
        with open(os.path.join(output, name), "w", encoding="utf-8") as handle:
            json.dump(content, handle, indent=1)
    return [os.path.join(output, name) for name in files]


def build_parser():
    parser = argparse.ArgumentParser(prog="maelm-squad-predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="checkpoint of a SQuAD fine-tuning (--task maelm_squad)")
    parser.add_argument("--data", required=True, metavar="DIR",
                        help="features directory from preprocess/squad/prepare_squad.py; its valid.pt is answered")
    parser.add_argument("--out", required=True, metavar="DIR", help="where predictions.json (and null_odds.json) go")
    parser.add_argument("--null-score-diff-threshold", type=float, metavar="T",
                        help="v2.0: answer '' when the null score minus the best span's exceeds T (default: the "
                             "checkpoint's; validation's best_f1_thresh is the usual choice for a submission)")
    return parser


@console_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    if not os.path.isfile(os.path.join(args.data, f"{SPLIT}.pt")):
        raise UserInputError(f"--data {args.data}: no {SPLIT}.pt — write it with preprocess/squad/prepare_squad.py "
                             f"--valid-json QUESTIONS.json --output {args.data}")
    answers, null_scores, metrics = predict(args.checkpoint, args.data, args.null_score_diff_threshold)
    paths = write_submission(args.out, answers, null_scores)
    print(f"wrote {' and '.join(paths)} ({len(answers)} questions)")
    print(" | ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
