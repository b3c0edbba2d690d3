"""Normalise raw text and split it, by whole documents, into train and valid text files (streaming).

Lines are written as they are read, so not even one document is held in memory (a file without blank lines
is one document).
"""
import random

from preprocess.text_stream import collapse_blank_lines, iter_stripped_lines


class DocumentWriter:
    """Writes documents separated by exactly one blank line and counts what it wrote."""

    def __init__(self, path):
        self.handle = open(path, "w", encoding="utf-8")
        self.documents = 0
        self.lines = 0

    def start_document(self):
        if self.documents:
            self.handle.write("\n")
        self.documents += 1

    def write_line(self, line):
        self.handle.write(line + "\n")
        self.lines += 1

    def close(self):
        self.handle.close()


def _copy_documents(lines, choose_writer):
    """Write each normalised document to the writer `choose_writer()` picks when the document starts."""
    writer = None
    for line in collapse_blank_lines(lines):
        if not line:
            writer = None
            continue
        if writer is None:
            writer = choose_writer()
            writer.start_document()
        writer.write_line(line)


def write_split(inputs, valid_inputs, valid_fraction, seed, train_path, valid_path):
    """Write normalised train/valid text; returns the (train, valid) writers for their counts.

    With `valid_inputs` those files are the valid split; otherwise each document of `inputs` goes to valid
    with probability `valid_fraction`, drawn from a generator seeded with `seed` (same seed, same split).
    """
    train, valid = DocumentWriter(train_path), DocumentWriter(valid_path)
    rng = random.Random(seed)
    try:
        if valid_inputs:
            _copy_documents(iter_stripped_lines(inputs), lambda: train)
            _copy_documents(iter_stripped_lines(valid_inputs), lambda: valid)
        else:
            _copy_documents(iter_stripped_lines(inputs), lambda: valid if rng.random() < valid_fraction else train)
    finally:
        train.close()
        valid.close()
    return train, valid
