"""Where each GLUE task keeps its sentences and labels, as in fairseq's examples/roberta/preprocess_GLUE_tasks.sh.

Column indices are 0-based here (the shell script's `cut -f` fields are 1-based). Only labelled splits are
converted: train -> train, dev -> valid (MNLI: dev_matched -> valid, dev_mismatched -> valid1).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class SplitSpec:
    filename: str
    fields: int  # every row must have exactly this many tab-separated fields
    label_column: int
    has_header: bool = True


@dataclass(frozen=True)
class TaskSpec:
    folder: str
    input_columns: tuple
    splits: dict  # fairseq split name -> SplitSpec
    regression: bool = False  # STS-B: float label scaled to [0, 1], stored as text


def _train_dev(fields, label_column, has_header=True):
    return {
        "train": SplitSpec("train.tsv", fields, label_column, has_header),
        "valid": SplitSpec("dev.tsv", fields, label_column, has_header),
    }


GLUE_TASKS = {
    "CoLA": TaskSpec("CoLA", (3,), _train_dev(4, 1, has_header=False)),
    "SST-2": TaskSpec("SST-2", (0,), _train_dev(2, 1)),
    "MRPC": TaskSpec("MRPC", (3, 4), _train_dev(5, 0)),
    "QQP": TaskSpec("QQP", (3, 4), _train_dev(6, 5)),
    "STS-B": TaskSpec("STS-B", (7, 8), _train_dev(10, 9), regression=True),
    "MNLI": TaskSpec(
        "MNLI",
        (8, 9),
        {
            "train": SplitSpec("train.tsv", 12, 11),
            "valid": SplitSpec("dev_matched.tsv", 16, 15),
            "valid1": SplitSpec("dev_mismatched.tsv", 16, 15),
        },
    ),
    "QNLI": TaskSpec("QNLI", (1, 2), _train_dev(4, 3)),
    "RTE": TaskSpec("RTE", (1, 2), _train_dev(4, 3)),
}

STSB_MAX_SCORE = 5.0
