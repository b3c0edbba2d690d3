#!/usr/bin/env python
"""GLUE tsv folders -> one fairseq data-bin per task, with the pretraining tokenizer and dict.txt.

Layout per task (what fairseq's sentence_prediction task reads):
    OUT/<TASK>-bin/input0/{dict.txt,train,valid[,valid1]}.{bin,idx}   first sentence
    OUT/<TASK>-bin/input1/...                                           second sentence (pair tasks)
    OUT/<TASK>-bin/label/{dict.txt,train,valid...}.{bin,idx}            class labels
    OUT/STS-B-bin/label/{train,valid}.label                              similarity / 5, one float a line
    OUT/<TASK>-bin/input{0,1}/test[,test1,test2].{bin,idx}              test sentences, when the test tsv is there
    OUT/<TASK>-bin/submission.json                                       per test split: its GLUE submission file
                                                                         name and row indices (maelm-glue-predict)
"""
import argparse
import json
import sys
from pathlib import Path

from maelm_fairseq.errors import console_main
from preprocess.errors import fail
from preprocess.glue.read_tsv import read_split, read_test_split
from preprocess.glue.tasks import GLUE_TASKS, STSB_MAX_SCORE
from preprocess.replace_dir import built_beside
from preprocess.sentence_prediction_bin import Split, write_sentence_prediction_bin
from preprocess.tokenizers import add_tokenizer_flags, tokenizer_directory

TOKENIZER_RECORD = "tokenizer"  # OUT/tokenizer/: what encoded the inputs, when --tokenizer is given

SUBMISSION_MANIFEST = "submission.json"  # read by maelm-glue-predict


def build_parser():
    parser = argparse.ArgumentParser(description="Convert GLUE tsv folders into fairseq data-bins.")
    parser.add_argument("--glue-dir", required=True, metavar="DIR", help="folder holding the GLUE task folders (RTE/, MNLI/, ...)")
    parser.add_argument("--tasks", nargs="+", required=True, choices=sorted(GLUE_TASKS) + ["ALL"], metavar="TASK",
                        help=f"tasks to convert: {' '.join(GLUE_TASKS)} or ALL")
    parser.add_argument("--tokenizer-dir", required=True, metavar="DIR",
                        help="pretraining data-bin (its tokenizer.json and dict.txt are used, so ids match pretraining)")
    parser.add_argument("--output", required=True, metavar="DIR", help="where <TASK>-bin folders are written")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="encoding and binarizing processes")
    parser.add_argument("--skip-bad-rows", action="store_true",
                        help="drop rows with a wrong field count or label (and report them) instead of failing")
    add_tokenizer_flags(parser)
    return parser


def prepare_task(name, glue_dir, tokenizer_dir, output, workers, skip_bad_rows):
    task = GLUE_TASKS[name]
    task_dir = Path(glue_dir, task.folder)
    if not task_dir.is_dir():
        fail(task_dir, f"GLUE task folder for {name} not found", "download GLUE or fix --glue-dir")
    for split in task.splits.values():
        if not (task_dir / split.filename).is_file():
            fail(task_dir / split.filename, f"{name} split file missing", "check the GLUE download for this task")

    report, splits = [], []
    for split_name, split in task.splits.items():
        rows, dropped = read_split(task_dir / split.filename, task, split, skip_bad_rows)
        report.append(f"{split_name} {len(rows)} rows" + (f" ({len(dropped)} bad rows dropped)" if dropped else ""))
        labels = [row[1] for row in rows]
        if task.regression:
            labels = [f"{float(label) / STSB_MAX_SCORE:.6g}" for label in labels]
        splits.append(Split(split_name, [row[0] for row in rows], labels))

    submission = {"task": name, "regression_scale": STSB_MAX_SCORE if task.regression else None, "splits": {}}
    for spec in (spec for spec in task.tests if Path(glue_dir, spec.path).is_file()):
        split_name = f"test{len(submission['splits']) or ''}"  # fairseq's names for --testpref a,b,c
        rows = read_test_split(Path(glue_dir, spec.path), spec)
        report.append(f"{split_name} {len(rows)} rows ({spec.path} -> {spec.submission})")
        splits.append(Split(split_name, [row[1] for row in rows]))
        submission["splits"][split_name] = {"source": spec.path, "file": spec.submission,
                                            "index": [row[0] for row in rows]}

    final_dir = Path(output, f"{name}-bin")
    with built_beside(final_dir) as bin_dir:
        write_sentence_prediction_bin(bin_dir, splits, tokenizer_dir, workers, task.regression, desc=name)
        if submission["splits"]:
            (bin_dir / SUBMISSION_MANIFEST).write_text(json.dumps(submission) + "\n")
    print(f"{name}: {final_dir}: " + ", ".join(report))


@console_main
def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if not Path(args.glue_dir).is_dir():
        fail(args.glue_dir, "GLUE folder not found", "fix --glue-dir")
    tokenizer_dir = tokenizer_directory(parser, args, Path(args.output, TOKENIZER_RECORD))
    if not Path(tokenizer_dir, "dict.txt").is_file():
        fail(Path(tokenizer_dir, "dict.txt"), "no dict.txt", "pass the data-bin written by prepare_corpus.py")
    tasks = list(GLUE_TASKS) if "ALL" in args.tasks else args.tasks
    for name in tasks:
        prepare_task(name, args.glue_dir, tokenizer_dir, args.output, args.workers, args.skip_bad_rows)


if __name__ == "__main__":
    sys.exit(main())
