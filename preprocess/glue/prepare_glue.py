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
import shutil
import sys
import tempfile
from pathlib import Path


from maelm_fairseq.errors import console_main
from preprocess.errors import fail
from preprocess.glue.read_tsv import read_split, read_test_split
from preprocess.glue.tasks import GLUE_TASKS, STSB_MAX_SCORE
from preprocess.parallel_encode import encode_stream
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


def write_lines(path, lines):
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(line + "\n")
            count += 1
    return count


def prepare_task(name, glue_dir, tokenizer_dir, output, workers, skip_bad_rows):
    from preprocess.binarize import run_fairseq_preprocess

    task = GLUE_TASKS[name]
    task_dir = Path(glue_dir, task.folder)
    if not task_dir.is_dir():
        fail(task_dir, f"GLUE task folder for {name} not found", "download GLUE or fix --glue-dir")
    for split in task.splits.values():
        if not (task_dir / split.filename).is_file():
            fail(task_dir / split.filename, f"{name} split file missing", "check the GLUE download for this task")

    # Built beside the final directory and moved into place at the end: a rerun replaces the task's data-bin whole
    # (fairseq-preprocess refuses to write a label dict.txt over an existing one) and a failed run leaves the old one.
    final_dir = Path(output, f"{name}-bin")
    bin_dir = Path(output, f".{name}-bin.partial")
    shutil.rmtree(bin_dir, ignore_errors=True)
    report = []
    with tempfile.TemporaryDirectory(prefix=f".{name}-") as scratch_name:
        scratch = Path(scratch_name)

        def encode_split(split_name, sentence_rows):
            for column in range(len(task.input_columns)):
                encoded = encode_stream(tokenizer_dir, (row[column] for row in sentence_rows), workers, desc=f"{name} {split_name}")
                written = write_lines(scratch / f"{split_name}.input{column}", encoded)
                assert written == len(sentence_rows), "encoding must keep one line per row"

        for split_name, split in task.splits.items():
            rows, dropped = read_split(task_dir / split.filename, task, split, skip_bad_rows)
            report.append(f"{split_name} {len(rows)} rows" + (f" ({len(dropped)} bad rows dropped)" if dropped else ""))
            encode_split(split_name, [row[0] for row in rows])
            labels = [row[1] for row in rows]
            if task.regression:
                labels = [f"{float(label) / STSB_MAX_SCORE:.6g}" for label in labels]
            write_lines(scratch / f"{split_name}.label", labels)

        submission = {"task": name, "regression_scale": STSB_MAX_SCORE if task.regression else None, "splits": {}}
        for spec in (spec for spec in task.tests if Path(glue_dir, spec.path).is_file()):
            split_name = f"test{len(submission['splits']) or ''}"  # fairseq's names for --testpref a,b,c
            rows = read_test_split(Path(glue_dir, spec.path), spec)
            report.append(f"{split_name} {len(rows)} rows ({spec.path} -> {spec.submission})")
            encode_split(split_name, [row[1] for row in rows])
            submission["splits"][split_name] = {"source": spec.path, "file": spec.submission,
                                                "index": [row[0] for row in rows]}

        valid_splits = [s for s in task.splits if s != "train"]
        for column in range(len(task.input_columns)):
            run_fairseq_preprocess(
                bin_dir / f"input{column}", scratch / f"train.input{column}",
                [scratch / f"{s}.input{column}" for s in valid_splits], workers, Path(tokenizer_dir, "dict.txt"),
                [scratch / f"{s}.input{column}" for s in submission["splits"]],
            )
        if task.regression:
            (bin_dir / "label").mkdir(parents=True, exist_ok=True)
            for split_name in task.splits:
                shutil.copyfile(scratch / f"{split_name}.label", bin_dir / "label" / f"{split_name}.label")
        else:
            run_fairseq_preprocess(bin_dir / "label", scratch / "train.label", [scratch / f"{s}.label" for s in valid_splits], workers)
    if submission["splits"]:
        (bin_dir / SUBMISSION_MANIFEST).write_text(json.dumps(submission) + "\n")
    shutil.rmtree(final_dir, ignore_errors=True)
    bin_dir.rename(final_dir)
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
