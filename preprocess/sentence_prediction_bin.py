"""Examples (one or two texts, a label) -> the data-bin fairseq's `sentence_prediction` task reads:

    input0/{dict.txt,<split>.bin,<split>.idx}   first text, encoded with the pretraining tokenizer and dict.txt
    input1/...                                   second text (sentence pairs)
    label/{dict.txt,<split>.bin,<split>.idx}    class labels; the dictionary is built from the train labels
    label/<split>.label                          regression: one float a line, no dictionary

Split names are fairseq-preprocess's: train, then valid, valid1, ... and test, test1, ... in the order given. A
split without labels (a test set) gets inputs only.
"""
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from preprocess.parallel_encode import encode_stream


@dataclass
class Split:
    name: str
    texts: list  # one tuple of texts (1, or 2 for pairs) per example, each text on one line
    labels: list = None  # one label string per example; None for a split without labels


def write_lines(path, lines):
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(line + "\n")
            count += 1
    return count


def _fairseq_names(splits, kind):
    """The splits of `kind` (valid/test); fairseq-preprocess numbers a --validpref/--testpref list by position,
    so the names must be kind, kind1, kind2, ... in order."""
    chosen = [split for split in splits if re.fullmatch(rf"{kind}\d*", split.name)]
    assert [s.name for s in chosen] == [f"{kind}{i or ''}" for i in range(len(chosen))], "split names out of order"
    return chosen


def write_sentence_prediction_bin(bin_dir, splits, tokenizer_dir, workers, regression=False, desc="encode"):
    """Encode and binarize `splits` (train first) into `bin_dir`."""
    from preprocess.binarize import run_fairseq_preprocess

    train = splits[0]
    assert train.name == "train" and train.labels is not None, "the first split is the labelled train split"
    valid, test = _fairseq_names(splits, "valid"), _fairseq_names(splits, "test")
    assert len(splits) == 1 + len(valid) + len(test), "splits are train, valid* and test*"
    columns = len(train.texts[0])
    bin_dir = Path(bin_dir)
    with tempfile.TemporaryDirectory(prefix=".sentence-prediction-") as scratch_name:
        scratch = Path(scratch_name)
        for split in splits:
            for column in range(columns):
                encoded = encode_stream(tokenizer_dir, (texts[column] for texts in split.texts), workers,
                                        desc=f"{desc} {split.name}")
                written = write_lines(scratch / f"{split.name}.input{column}", encoded)
                assert written == len(split.texts), "encoding must keep one line per example"
            if split.labels is not None:
                write_lines(scratch / f"{split.name}.label", split.labels)

        for column in range(columns):
            run_fairseq_preprocess(
                bin_dir / f"input{column}", scratch / f"train.input{column}",
                [scratch / f"{s.name}.input{column}" for s in valid], workers, Path(tokenizer_dir, "dict.txt"),
                [scratch / f"{s.name}.input{column}" for s in test],
            )
        # Labels of a kind must be a prefix of it (valid, valid1 labelled, ...) for fairseq's numbering to match.
        labelled_valid, labelled_test = ([s for s in kind if s.labels is not None] for kind in (valid, test))
        assert labelled_valid == valid[:len(labelled_valid)] and labelled_test == test[:len(labelled_test)]
        if regression:
            (bin_dir / "label").mkdir(parents=True, exist_ok=True)
            for split in [train, *labelled_valid, *labelled_test]:
                shutil.copyfile(scratch / f"{split.name}.label", bin_dir / "label" / f"{split.name}.label")
        else:
            run_fairseq_preprocess(bin_dir / "label", scratch / "train.label",
                                   [scratch / f"{s.name}.label" for s in labelled_valid], workers,
                                   testprefs=[scratch / f"{s.name}.label" for s in labelled_test])
