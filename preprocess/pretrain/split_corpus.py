"""Normalise raw text and split it, by whole documents, into train and valid text files (streaming)."""
import random

from preprocess.text_stream import iter_documents, iter_stripped_lines


class DocumentWriter:
    """Writes documents separated by exactly one blank line and counts what it wrote."""

    def __init__(self, path):
        self.handle = open(path, "w", encoding="utf-8")
        self.documents = 0
        self.lines = 0

    def write(self, document):
        if self.documents:
            self.handle.write("\n")
        self.handle.writelines(line + "\n" for line in document)
        self.documents += 1
        self.lines += len(document)

    def close(self):
        self.handle.close()


def write_split(inputs, valid_inputs, valid_fraction, seed, train_path, valid_path):
    """Write normalised train/valid text; returns the (train, valid) writers for their counts.

    With `valid_inputs` those files are the valid split; otherwise each document of `inputs` goes to valid
    with probability `valid_fraction`, drawn from a generator seeded with `seed` (same seed, same split).
    """
    train, valid = DocumentWriter(train_path), DocumentWriter(valid_path)
    rng = random.Random(seed)
    try:
        for document in iter_documents(iter_stripped_lines(inputs)):
            to_valid = not valid_inputs and rng.random() < valid_fraction
            (valid if to_valid else train).write(document)
        for document in iter_documents(iter_stripped_lines(valid_inputs or [])):
            valid.write(document)
    finally:
        train.close()
        valid.close()
    return train, valid
