"""Where each GLUE task keeps its sentences and labels, as in fairseq's examples/roberta/preprocess_GLUE_tasks.sh.

Column indices are 0-based here (the shell script's `cut -f` fields are 1-based). Labelled splits: train -> train,
dev -> valid (MNLI: dev_matched -> valid, dev_mismatched -> valid1). Test splits (no labels; every file has a header
and its row index in column 0) are converted when their file is there, in the order listed, and fairseq names them
test, test1, ...; each is predicted into the GLUE benchmark's submission file named here (the MNLI model also
predicts the diagnostic set, AX).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class SplitSpec:
    filename: str
    fields: int  # every row must have exactly this many tab-separated fields
    label_column: int
    has_header: bool = True


@dataclass(frozen=True)
class TestSpec:
    path: str  # relative to the GLUE folder
    fields: int
    input_columns: tuple  # test files lay out their columns differently from train/dev for some tasks
    submission: str  # the benchmark's file name for the predictions


@dataclass(frozen=True)
class TaskSpec:
    folder: str
    input_columns: tuple
    splits: dict  # fairseq split name -> SplitSpec
    tests: tuple = ()  # TestSpec, in the order fairseq numbers the test splits
    regression: bool = False  # STS-B: float label scaled to [0, 1], stored as text


def _train_dev(fields, label_column, has_header=True):
    return {
        "train": SplitSpec("train.tsv", fields, label_column, has_header),
        "valid": SplitSpec("dev.tsv", fields, label_column, has_header),
    }


def _test(task, fields, input_columns):
    return (TestSpec(f"{task}/test.tsv", fields, input_columns, f"{task}.tsv"),)


GLUE_TASKS = {
    "CoLA": TaskSpec("CoLA", (3,), _train_dev(4, 1, has_header=False), _test("CoLA", 2, (1,))),
    "SST-2": TaskSpec("SST-2", (0,), _train_dev(2, 1), _test("SST-2", 2, (1,))),
    "MRPC": TaskSpec("MRPC", (3, 4), _train_dev(5, 0), _test("MRPC", 5, (3, 4))),
    "QQP": TaskSpec("QQP", (3, 4), _train_dev(6, 5), _test("QQP", 3, (1, 2))),
    "STS-B": TaskSpec("STS-B", (7, 8), _train_dev(10, 9), _test("STS-B", 9, (7, 8)), regression=True),
    "MNLI": TaskSpec(
        "MNLI",
        (8, 9),
        {
            "train": SplitSpec("train.tsv", 12, 11),
            "valid": SplitSpec("dev_matched.tsv", 16, 15),
            "valid1": SplitSpec("dev_mismatched.tsv", 16, 15),
        },
        (
            TestSpec("MNLI/test_matched.tsv", 10, (8, 9), "MNLI-m.tsv"),
            TestSpec("MNLI/test_mismatched.tsv", 10, (8, 9), "MNLI-mm.tsv"),
            TestSpec("diagnostic/diagnostic.tsv", 3, (1, 2), "AX.tsv"),
        ),
    ),
    "QNLI": TaskSpec("QNLI", (1, 2), _train_dev(4, 3), _test("QNLI", 3, (1, 2))),
    "RTE": TaskSpec("RTE", (1, 2), _train_dev(4, 3), _test("RTE", 3, (1, 2))),
    # Not in fairseq's script (RoBERTa reports WNLI from another formulation); the benchmark server wants WNLI.tsv.
    "WNLI": TaskSpec("WNLI", (1, 2), _train_dev(4, 3), _test("WNLI", 3, (1, 2))),
}

STSB_MAX_SCORE = 5.0
