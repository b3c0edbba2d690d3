"""maelm-glue-predict: the GLUE benchmark's submission files from a fine-tuned checkpoint.

    maelm-glue-predict CHECKPOINT --data TASK_BIN --out DIR

TASK_BIN is the task's data-bin from preprocess/glue/prepare_glue.py, made with the GLUE test files in the GLUE
folder; its submission.json names the submission file and the row indices of each test split. For each test split
the command writes DIR/<file> (CoLA.tsv, SST-2.tsv, MRPC.tsv, QQP.tsv, STS-B.tsv, MNLI-m.tsv, MNLI-mm.tsv, AX.tsv,
QNLI.tsv, RTE.tsv) with the header `index<TAB>prediction` and one line per test row: the label as the task's train
tsv spells it (the benchmark's own names: entailment/neutral/contradiction, entailment/not_entailment, 0/1), and
for STS-B the similarity on the 0-5 scale, clipped to [0, 5]. Run it once per task, with that task's checkpoint,
into one DIR; zip DIR for the benchmark's server.
"""
import argparse
import json
import os
import sys

import torch

from ..errors import UserInputError, console_main
from ..evaluation.inference import build_finetuned, read_checkpoint, validation_batches

MANIFEST = "submission.json"  # written by preprocess/glue/prepare_glue.py
FIX = "pass the checkpoint_best.pt of this task's fine-tuning (examples/glue/run.py)"


def read_manifest(data):
    path = os.path.join(data, MANIFEST)
    if not os.path.isfile(path):
        raise UserInputError(f"--data {data}: no {MANIFEST} — re-run preprocess/glue/prepare_glue.py with the GLUE "
                             "test files (<TASK>/test.tsv; MNLI/test_matched.tsv, test_mismatched.tsv and "
                             "diagnostic/diagnostic.tsv) in --glue-dir")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def submission_score(value, scale):
    """A regression output (the label divided by `scale` at preprocessing) on the benchmark's scale, in [0, scale]."""
    return f"{min(max(value * scale, 0.0), scale):.3f}"


def class_names(task):
    """The labels by class index: the label dictionary after its specials, without what follows the labels
    (fairseq-preprocess pads it with madeupwordNNNN entries, the sentence_prediction task adds <mask>)."""
    labels = task.label_dictionary.symbols[task.label_dictionary.nspecial:]
    return [label for label in labels if not label.startswith("madeupword") and label != "<mask>"]


def predict_split(model, task, cfg, split):
    """The model's output for every row of `split`, in row order: class indices, or floats (--regression-target)."""
    task.load_dataset(split)
    outputs = {}
    with torch.no_grad():
        for sample in validation_batches(task, split, model, cfg):
            logits, _ = model(**sample["net_input"], features_only=True,
                              classification_head_name=task.cfg.classification_head_name)
            values = logits[:, 0].float() if task.cfg.regression_target else logits.argmax(dim=-1)
            outputs.update(zip(sample["id"].tolist(), values.tolist()))
    return [outputs[i] for i in range(len(outputs))]


def predict(checkpoint, data):
    """{submission file name: [(row index, prediction text)]} for every test split listed in DATA's manifest."""
    manifest = read_manifest(data)
    # Every test row must get a prediction: cut rows longer than the model's positions instead of refusing them.
    state = read_checkpoint(checkpoint, "sentence_prediction", data, FIX, shorten_method="truncate",
                            shorten_data_split_list="")
    scale = manifest["regression_scale"]
    if state["cfg"].task.regression_target != (scale is not None):
        trained = "a score (--regression-target)" if scale is None else "classes"
        raise UserInputError(f"{checkpoint}: predicts {trained}, but {data} holds {manifest['task']} — {FIX}")
    model, task, cfg = build_finetuned(checkpoint, state)
    if not task.cfg.regression_target:
        names = class_names(task)
        if len(names) != task.cfg.num_classes:
            raise UserInputError(f"{checkpoint}: {task.cfg.num_classes} classes, but {data} has {len(names)} labels "
                                 f"({', '.join(names)}) — {FIX}")
    files = {}
    for split, entry in manifest["splits"].items():
        outputs = predict_split(model, task, cfg, split)
        if len(outputs) != len(entry["index"]):
            raise UserInputError(f"--data {data}: test split {split} has {len(outputs)} rows, {MANIFEST} "
                                 f"{len(entry['index'])} — re-run preprocess/glue/prepare_glue.py")
        texts = [submission_score(v, scale) if scale is not None else names[v] for v in outputs]
        files[entry["file"]] = list(zip(entry["index"], texts))
    return files


def write_submission(output, files):
    os.makedirs(output, exist_ok=True)
    for name, rows in files.items():
        with open(os.path.join(output, name), "w", encoding="utf-8") as handle:
            handle.write("index\tprediction\n")
            handle.writelines(f"{index}\t{text}\n" for index, text in rows)


def build_parser():
    parser = argparse.ArgumentParser(prog="maelm-glue-predict", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="checkpoint of the task's fine-tuning (--task sentence_prediction)")
    parser.add_argument("--data", required=True, metavar="DIR",
                        help="the task's data-bin from preprocess/glue/prepare_glue.py, with its test splits")
    parser.add_argument("--out", required=True, metavar="DIR", help="where the submission .tsv files go")
    return parser


@console_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    files = predict(args.checkpoint, args.data)
    write_submission(args.out, files)
    print("wrote " + ", ".join(f"{os.path.join(args.out, name)} ({len(rows)} rows)" for name, rows in files.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
