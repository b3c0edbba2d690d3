"""maelm-prepare-labelled: your labelled examples -> the data-bin fairseq's `sentence_prediction` task fine-tunes on,
encoded with the pretraining data-bin's tokenizer and dict.txt so the ids match pretraining.

Input: a CSV, TSV or JSONL file whose header (or keys) names the columns, or a folder with one sub-folder per
label holding one `.txt` file per example. Output (--output DIR), as preprocess/glue/prepare_glue.py writes a task:
input0/ [input1/] label/, each with dict.txt and train, valid [, test] .bin/.idx (regression: label/<split>.label).
Everything is checked before anything is written; the data-bin is built beside DIR and moved into place.
"""
import argparse
import collections
import sys
from pathlib import Path

from maelm_fairseq.data.tokenizer_manifest import read_manifest
from maelm_fairseq.errors import console_main
from preprocess.errors import fail
from preprocess.labelled.checks import BadRows, label_value, too_rare, unknown
from preprocess.labelled.lengths import example_lengths, length_summary
from preprocess.labelled.read_examples import Example, read_examples
from preprocess.labelled.stratify import stratified_sample
from preprocess.replace_dir import built_beside
from preprocess.sentence_prediction_bin import Split, write_sentence_prediction_bin

LONG_SHOWN = 5  # over-long examples named in the report


def build_parser():
    parser = argparse.ArgumentParser(
        prog="maelm-prepare-labelled",
        description="Convert labelled text (CSV/TSV/JSONL with a header, or a folder with one sub-folder per label "
                    "of .txt files) into a fairseq sentence_prediction data-bin.")
    parser.add_argument("--input", required=True, metavar="PATH",
                        help="training examples: a .csv, .tsv or .jsonl file, or a folder of label sub-folders")
    valid = parser.add_mutually_exclusive_group(required=True)
    valid.add_argument("--valid-input", metavar="PATH", help="validation examples, in any input form")
    valid.add_argument("--valid-fraction", type=float, metavar="F",
                       help="take this fraction of --input as the valid split, stratified by label")
    parser.add_argument("--test-input", metavar="PATH", help="test examples (labels optional)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the --valid-fraction split")
    parser.add_argument("--text-column", nargs="+", default=["sentence"], metavar="NAME",
                        help="column (JSON key) of the text; two names for sentence pairs (input0, input1)")
    parser.add_argument("--label-column", default="label", metavar="NAME", help="column (JSON key) of the label")
    parser.add_argument("--regression", action="store_true",
                        help="the label is a number (fine-tune with --num-classes 1 --regression-target)")
    parser.add_argument("--tokenizer-dir", required=True, metavar="DIR",
                        help="pretraining data-bin (its tokenizer.json and dict.txt are used, so ids match pretraining)")
    parser.add_argument("--output", required=True, metavar="DIR", help="the data-bin to write (replaced whole)")
    parser.add_argument("--max-positions", type=int, default=512, metavar="N",
                        help="the model's positions: longer examples are counted and named")
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="encoding and binarizing processes")
    parser.add_argument("--skip-bad-rows", action="store_true",
                        help="drop bad rows (and list them) instead of stopping at the first")
    return parser


def check_flags(parser, args):
    if len(args.text_column) > 2:
        parser.error("--text-column takes one name, or two for sentence pairs")
    if args.valid_fraction is not None and not 0 < args.valid_fraction < 1:
        parser.error("--valid-fraction must be between 0 and 1")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.max_positions < 2:
        parser.error("--max-positions must be at least 2 (<s> and </s>)")
    if len(args.text_column) == 2 and any(Path(p).is_dir() for p in (args.input, args.valid_input, args.test_input) if p):
        parser.error("a folder gives one text per example: two --text-column names need CSV, TSV or JSONL files")


def read_all(args, bad):
    """(train, valid, test or None) as checked Examples."""

    def read(path, labelled):
        rows = read_examples(path, args.text_column, args.label_column, labelled)
        return bad.keep([label_value(row, args.regression) if isinstance(row, Example) else row for row in rows])

    train = read(args.input, True)
    if not args.regression:
        train = bad.keep(too_rare(train))
        labels = sorted({example.label for example in train})
        if len(labels) == 1:
            fail(args.input, f"only one label ({labels[0]!r})", "a classifier needs examples of at least 2 labels")
    if not train:
        fail(args.input, "no examples", "give labelled examples")
    if args.valid_input:
        valid = read(args.valid_input, True)
    else:
        strata = [0 if args.regression else example.label for example in train]
        picked = set(stratified_sample(strata, round(args.valid_fraction * len(train)), args.seed))
        valid = [example for i, example in enumerate(train) if i in picked]
        train = [example for i, example in enumerate(train) if i not in picked]
        if not valid:
            fail("--valid-fraction", f"no valid examples from {len(train)} training examples", "raise it")
    test = read(args.test_input, None) if args.test_input else None
    if not args.regression:
        known = {example.label for example in train}
        valid = bad.keep(unknown(valid, known))
        test = test if test is None else bad.keep(unknown(test, known))
    for path, examples in ((args.valid_input, valid), (args.test_input, test)):
        if examples == []:
            fail(path, "no examples", "give examples or leave the flag out")
    return train, valid, test


def label_counts(examples, regression):
    if examples[0].label is None:
        return "no labels"
    if regression:
        values = [float(example.label) for example in examples]
        return f"labels mean {sum(values) / len(values):.4g}, min {min(values):.4g}, max {max(values):.4g}"
    counts = collections.Counter(example.label for example in examples)
    return "labels " + ", ".join(f"{label!r} {count:,}" for label, count in sorted(counts.items()))


def class_names(bin_dir, count):
    """The labels in class-id order: label/dict.txt order, as fairseq's sentence_prediction maps them."""
    lines = Path(bin_dir, "label", "dict.txt").read_text(encoding="utf-8").splitlines()
    return [line.rsplit(" ", 1)[0] for line in lines[:count]]


def report(args, splits, lengths, classes, bad):
    """Print what was written and how to fine-tune on it; `splits`: {name: Examples}."""
    columns = len(args.text_column)
    lines = [f"{args.output}: sentence_prediction data-bin ({', '.join(f'input{c}/' for c in range(columns))}, label/)"]
    for name, examples in splits.items():
        lines.append(f"  {name:<5} {len(examples):>7,} examples, {label_counts(examples, args.regression)}")
    lines += bad.report()
    lines.append("tokens per example, counting <s> and </s> as fine-tuning does:")
    lines += [f"  {name:<5} {length_summary(values)}" for name, values in lengths.items()]
    flags = "--num-classes 1 --regression-target" if args.regression else f"--num-classes {len(classes)}"
    flags += " --init-token 0" + (" --separator-token 2" if columns == 2 else "") + f" --max-positions {args.max_positions}"
    lines.append(f"fine-tune with: {flags}")
    if classes:
        lines.append("  class ids (label/dict.txt order): " + ", ".join(f"{i} = {name!r}" for i, name in enumerate(classes)))
    long = [(name, example.where, length) for name, examples in splits.items()
            for example, length in zip(examples, lengths[name]) if length > args.max_positions]
    if long:
        named = ", ".join(f"{where} ({length} tokens)" for _, where, length in long[:LONG_SHOWN])
        more = f" and {len(long) - LONG_SHOWN} more" if len(long) > LONG_SHOWN else ""
        count = f"{len(long)} examples are" if len(long) > 1 else "1 example is"
        lines.append(f"{count} longer than --max-positions {args.max_positions}: {named}{more}")
        split_list = ",".join(dict.fromkeys(name for name, _, _ in long))
        lines.append(f"  fine-tune with --shorten-method truncate --shorten-data-split-list {split_list} to cut them to "
                     f"{args.max_positions} tokens (otherwise fairseq-train skips long train examples and stops at "
                     f"long valid ones)")
    else:
        lines.append(f"no example is longer than --max-positions {args.max_positions}")
    print("\n".join(lines))


def to_split(name, examples):
    labelled = examples[0].label is not None  # a split is labelled throughout or not at all
    return Split(name, [example.texts for example in examples], [e.label for e in examples] if labelled else None)


def check_tokenizer_dir(tokenizer_dir):
    read_manifest(tokenizer_dir)
    if not Path(tokenizer_dir, "dict.txt").is_file():
        fail(Path(tokenizer_dir, "dict.txt"), "no dict.txt", "pass the data-bin written by prepare_corpus.py")


def run(args):
    """Check everything, then write the data-bin (raises UserInputError on bad input)."""
    tokenizer_dir = Path(args.tokenizer_dir)
    check_tokenizer_dir(tokenizer_dir)
    bad = BadRows(args.skip_bad_rows)
    train, valid, test = read_all(args, bad)
    splits = {"train": train, "valid": valid, **({"test": test} if test else {})}
    with built_beside(args.output) as bin_dir:
        write_sentence_prediction_bin(bin_dir, [to_split(name, examples) for name, examples in splits.items()],
                                      tokenizer_dir, args.workers, args.regression, desc="labelled")
        lengths = {name: example_lengths(bin_dir, name, len(args.text_column)) for name in splits}
        classes = [] if args.regression else class_names(bin_dir, len({e.label for e in train}))
    report(args, splits, lengths, classes, bad)


@console_main
def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    check_flags(parser, args)
    run(args)


if __name__ == "__main__":
    sys.exit(main())
