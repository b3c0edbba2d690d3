"""maelm-prepare-labelled: every input form, pairs, regression, the stratified split, every refusal (one line, exit
status 2, nothing written), --skip-bad-rows, the length report, and a fine-tune on a folder-per-label set whose long
examples are truncated."""
import collections
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fairseq.data import Dictionary, data_utils

from finetune_fixtures import CPU_ENV
from helpers import logged_values, record_workers, run_cli
from preprocess.labelled import prepare_labelled
from preprocess.labelled.stratify import stratified_sample
from preprocess.tokenizers import load_tokenizer

WORDS = "the film story plot actor scene music long short good bad great dull funny sad quiet loud".split()


def sentence(i, length=6):
    return " ".join(WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(length)) + f" number {i}"


TRAIN = [(sentence(i), "pos" if i % 3 else "neg") for i in range(24)]  # 16 pos, 8 neg
VALID = [(sentence(100 + i), "pos" if i % 2 else "neg") for i in range(6)]


def write(path, rows, columns=("sentence", "label")):
    """`rows` as a .csv/.tsv/.jsonl file whose header names `columns`, or as a folder of label sub-folders."""
    path = Path(path)
    if path.suffix == ".csv":
        with open(path, "w", newline="", encoding="utf-8") as out:
            csv.writer(out).writerows([columns, *rows])
    elif path.suffix == ".tsv":
        path.write_text("".join("\t".join(row) + "\n" for row in [columns, *rows]), encoding="utf-8")
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(dict(zip(columns, row))) + "\n" for row in rows), encoding="utf-8")
    else:
        for i, (text, label) in enumerate(rows):
            (path / label).mkdir(parents=True, exist_ok=True)
            (path / label / f"{i:03d}.txt").write_text(text + "\n", encoding="utf-8")
    return path


def prepare(tokenizer_dir, out, *flags):
    """maelm-prepare-labelled in this process; `flags` come last, so they may override --tokenizer-dir."""
    return prepare_labelled.main(["--tokenizer-dir", str(tokenizer_dir), "--output", str(out), *map(str, flags)])


def load(directory, split):
    dictionary = Dictionary.load(str(Path(directory, "dict.txt")))
    dataset = data_utils.load_indexed_dataset(str(Path(directory, split)), dictionary)
    assert dataset is not None, f"{directory}/{split} did not load"
    return dictionary, dataset


def texts(data_bin, split, tokenizer, column=0):
    dictionary, dataset = load(Path(data_bin, f"input{column}"), split)
    return [tokenizer.decode([dictionary[i] for i in item[:-1].tolist()]) for item in dataset]


def labels(data_bin, split):
    dictionary, dataset = load(Path(data_bin, "label"), split)
    return [dictionary[item[0]] for item in dataset]


def rows_of(data_bin, split, tokenizer):
    return list(zip(texts(data_bin, split, tokenizer), labels(data_bin, split)))


@pytest.mark.parametrize("form", [".csv", ".tsv", ".jsonl", "folder"])
def test_every_input_form_gives_the_examples_and_labels(form, sp_data_bin, tmp_path, capsys):
    suffix = "" if form == "folder" else form
    train, valid = write(tmp_path / f"train{suffix}", TRAIN), write(tmp_path / f"valid{suffix}", VALID)
    assert prepare(sp_data_bin, tmp_path / "bin", "--input", train, "--valid-input", valid) == 0
    tokenizer = load_tokenizer(sp_data_bin)
    order = (lambda rows: sorted(rows, key=lambda row: row[1])) if form == "folder" else list  # folders: by label
    assert rows_of(tmp_path / "bin", "train", tokenizer) == order(TRAIN)
    assert rows_of(tmp_path / "bin", "valid", tokenizer) == order(VALID)
    assert sorted(p.name for p in (tmp_path / "bin").iterdir()) == ["input0", "label"]
    assert (tmp_path / "bin" / "input0" / "dict.txt").read_text() == (sp_data_bin / "dict.txt").read_text()
    out = capsys.readouterr().out
    assert "  train      24 examples, labels 'neg' 8, 'pos' 16" in out and "fine-tune with: --num-classes 2" in out
    assert "class ids (label/dict.txt order): 0 = 'pos', 1 = 'neg'" in out


def test_csv_quoting_bom_crlf_and_tsv_quotes(sp_data_bin, tmp_path, capsys):
    """CSV: quoted commas and newlines (a record over two lines, later rows still named by their line), a byte-order
    mark, CRLF; TSV: quote characters are text."""
    train = tmp_path / "train.csv"
    train.write_bytes("\ufeffsentence,label\r\n\"a film, \"\"they said\"\"\r\nthen left\",pos\r\n".encode()
                      + "".join(f"{text},{label}\r\n" for text, label in TRAIN).encode() + b" ,neg\r\n")
    assert prepare(sp_data_bin, tmp_path / "bin", "--input", train, "--valid-fraction", 0.2) == 2
    assert capsys.readouterr().err == f"error: {train}:{len(TRAIN) + 4}: empty text — fill it in, or pass " \
                                      f"--skip-bad-rows to drop bad rows\n"
    assert prepare(sp_data_bin, tmp_path / "bin", "--input", train, "--valid-fraction", 0.2, "--skip-bad-rows") == 0
    tokenizer = load_tokenizer(sp_data_bin)
    everything = texts(tmp_path / "bin", "train", tokenizer) + texts(tmp_path / "bin", "valid", tokenizer)
    assert 'a film, "they said" then left' in everything and len(everything) == len(TRAIN) + 1

    tsv = tmp_path / "quotes.tsv"
    write(tsv, [('he said "hello', "pos"), ("it's 'fine", "neg")] + TRAIN)
    assert prepare(sp_data_bin, tmp_path / "tsv-bin", "--input", tsv, "--valid-input", write(tmp_path / "v.tsv", VALID)) == 0
    assert texts(tmp_path / "tsv-bin", "train", tokenizer)[:2] == ['he said "hello', "it's 'fine"]


def test_sentence_pairs_go_to_input0_and_input1(sp_data_bin, tmp_path, capsys):
    columns = ("premise", "hypothesis", "gold")
    rows = [(sentence(i, 3), sentence(50 + i, 8), label) for i, (_, label) in enumerate(TRAIN)]
    train = write(tmp_path / "train.jsonl", rows, columns)
    valid = write(tmp_path / "valid.jsonl", [(sentence(i, 2), sentence(i, 4), label) for i, (_, label) in enumerate(VALID)], columns)
    assert prepare(sp_data_bin, tmp_path / "bin", "--input", train, "--valid-input", valid, "--text-column", "premise",
                   "hypothesis", "--label-column", "gold") == 0
    tokenizer = load_tokenizer(sp_data_bin)
    assert texts(tmp_path / "bin", "train", tokenizer, 0) == [row[0] for row in rows]
    assert texts(tmp_path / "bin", "train", tokenizer, 1) == [row[1] for row in rows]
    assert labels(tmp_path / "bin", "train") == [row[2] for row in rows]
    out = capsys.readouterr().out
    assert "--init-token 0 --separator-token 2" in out
    # <s> a </s> </s> b </s>: each input's size (with its </s>) plus <s> and the separator
    sizes = [len(a) + len(b) + 2 for a, b in zip(load(tmp_path / "bin" / "input0", "train")[1],
                                                  load(tmp_path / "bin" / "input1", "train")[1])]
    assert f"  train p50 {sorted(sizes)[len(sizes) // 2 - 1]}" in out and f"max {max(sizes)}\n" in out


def test_regression_labels_are_floats_in_label_files(sp_data_bin, tmp_path, capsys):
    rows = [(text, f"{i / 10:g}") for i, (text, _) in enumerate(TRAIN)]
    train = write(tmp_path / "train.csv", rows, ("sentence", "score"))
    assert prepare(sp_data_bin, tmp_path / "bin", "--input", train, "--valid-fraction", 0.25, "--regression",
                   "--label-column", "score") == 0
    label_dir = tmp_path / "bin" / "label"
    assert sorted(p.name for p in label_dir.iterdir()) == ["train.label", "valid.label"]  # no dictionary
    stored = [float(v) for split in ("train", "valid") for v in (label_dir / f"{split}.label").read_text().split()]
    assert sorted(stored) == sorted(float(label) for _, label in rows)
    assert len((label_dir / "valid.label").read_text().split()) == 6  # round(0.25 * 24), one stratum
    out = capsys.readouterr().out
    assert "--num-classes 1 --regression-target" in out and "labels mean" in out


def test_valid_fraction_is_stratified_and_seeded(sp_data_bin, tmp_path):
    counts = {"a": 10, "b": 7, "c": 5}
    rows = [(sentence(i), label) for i, label in enumerate(l for l, n in counts.items() for _ in range(n))]
    train = write(tmp_path / "train.tsv", rows)
    tokenizer = load_tokenizer(sp_data_bin)
    valid_sets = {}
    for seed in (1, 1, 2):
        out = tmp_path / f"bin{seed}"
        assert prepare(sp_data_bin, out, "--input", train, "--valid-fraction", 0.3, "--seed", seed) == 0
        valid, kept = rows_of(out, "valid", tokenizer), rows_of(out, "train", tokenizer)
        assert len(valid) == round(0.3 * len(rows)) and sorted(valid + kept) == sorted(rows)
        per_label = collections.Counter(label for _, label in valid)
        assert all(abs(per_label[label] - 0.3 * n) <= 1 for label, n in counts.items()), per_label
        assert valid_sets.setdefault(seed, valid) == valid  # same seed, same split
    assert valid_sets[1] != valid_sets[2]


def test_stratified_sample_is_within_one_of_proportional_for_every_label():
    import random

    rng = random.Random(0)
    for trial in range(200):
        strata = [rng.choice("abcdefg"[:rng.randint(1, 7)]) for _ in range(rng.randint(20, 300))]
        strata += sorted(set("abcdefg") - set(strata))[:1] * 2  # a rare label, 2 examples
        size = rng.randint(1, len(strata) // 2)
        chosen = stratified_sample(strata, size, seed=trial)
        assert len(chosen) == size and chosen == sorted(set(chosen))
        total, picked = collections.Counter(strata), collections.Counter(strata[i] for i in chosen)
        for label, n in total.items():
            assert abs(picked[label] - size * n / len(strata)) < 1 and picked[label] < n


def table(path, header, *lines):
    path.write_bytes((header + "\n" + "".join(line + "\n" for line in lines)).encode("utf-8", "surrogateescape"))
    return path


CASES = {}  # refusal name -> function(tmp dir) -> (flags, the error line after "error: ")
SKIP = ", or pass --skip-bad-rows to drop bad rows"
CSV_ROWS = [f"{text},{label}" for text, label in TRAIN[:6]]  # 3 neg, 3 pos


def case(name):
    def register(build):
        CASES[name] = build
        return build
    return register


def with_valid(tmp, path, *flags):
    return ["--input", path, "--valid-input", write(tmp / "valid.csv", VALID), *flags]


@case("missing text column")
def _(tmp):
    path = table(tmp / "missing.csv", "text,label", *CSV_ROWS)
    return with_valid(tmp, path), f"{path}:1: no column 'sentence' (the header has: text, label) — pass --text-column with one of them"


@case("missing label column")
def _(tmp):
    path = table(tmp / "nolabel.csv", "sentence,y", *CSV_ROWS)
    return with_valid(tmp, path), f"{path}:1: no column 'label' (the header has: sentence, y) — pass --label-column with one of them"


@case("missing key")
def _(tmp):
    path = tmp / "missing.jsonl"
    path.write_text('{"sentence": "a b", "label": "pos"}\n{"sentence": "c d", "label": "neg"}\n{"text": "e", "label": "pos"}\n')
    return with_valid(tmp, path), f"{path}:3: no key 'sentence' (the keys are: text, label) — add it or pass --text-column with one of them{SKIP}"


@case("empty text")
def _(tmp):
    path = table(tmp / "empty.csv", "sentence,label", *CSV_ROWS[:3], '"  ",pos', *CSV_ROWS[3:], ",neg")
    return with_valid(tmp, path), f"{path}:5: empty text (and 1 more bad rows) — fill it in{SKIP}"


@case("empty label")
def _(tmp):
    path = table(tmp / "nolabel-row.csv", "sentence,label", *CSV_ROWS, "a film,")
    return with_valid(tmp, path), f"{path}:8: empty label — fill it in{SKIP}"


@case("unknown label in valid")
def _(tmp):
    path = table(tmp / "unknown.csv", "sentence,label", *[f"{t},{l}" for t, l in VALID[:2]], "a film,neutral")
    return (["--input", write(tmp / "train.csv", TRAIN), "--valid-input", path],
            f"{path}:4: label 'neutral' is not among the training labels (neg, pos) — fix the label or add training "
            f"examples of it{SKIP}")


@case("label with one example")
def _(tmp):
    path = table(tmp / "rare.csv", "sentence,label", *CSV_ROWS, "a film,postive")
    return with_valid(tmp, path), f"{path}:8: label 'postive' has only 1 example — fix the label or add examples of it{SKIP}"


@case("only one label")
def _(tmp):
    path = table(tmp / "one.csv", "sentence,label", *[f"{t},pos" for t, _ in TRAIN[:4]])
    return with_valid(tmp, path), f"{path}: only one label ('pos') — a classifier needs examples of at least 2 labels"


@case("label with a space")
def _(tmp):
    path = table(tmp / "space.csv", "sentence,label", *CSV_ROWS, "a film,very good", "a film,very good")
    return with_valid(tmp, path), (f"{path}:8: label 'very good' has a space (and 1 more bad rows) — fairseq reads a "
                                   f"label as one word: rename it (e.g. with _ for the spaces){SKIP}")


@case("not UTF-8")
def _(tmp):
    path = table(tmp / "latin1.csv", "sentence,label", *CSV_ROWS[:1], "caf\udce9 film,pos", *CSV_ROWS[1:])
    return with_valid(tmp, path), f"{path}:3: not UTF-8 (byte 0xe9) — save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8){SKIP}"


@case("not UTF-8 in a folder")
def _(tmp):
    folder = write(tmp / "folder", TRAIN[:4])
    (folder / "pos" / "latin1.txt").write_bytes(b"a good film\nvery caf\xe9\n")
    return with_valid(tmp, folder), (f"{folder / 'pos' / 'latin1.txt'}:2: not UTF-8 (byte 0xe9) — save the file as "
                                     f"UTF-8 (e.g. iconv -f latin1 -t utf-8){SKIP}")


@case("empty folder")
def _(tmp):
    (tmp / "empty").mkdir()
    return with_valid(tmp, tmp / "empty"), (f"{tmp / 'empty'}: empty folder — put each label's examples in "
                                            f"{tmp / 'empty'}/<label>/, one .txt file per example")


@case("no label sub-folders")
def _(tmp):
    (tmp / "flat").mkdir()
    (tmp / "flat" / "a.txt").write_text("a good film\n")
    return with_valid(tmp, tmp / "flat"), (f"{tmp / 'flat'}: no label sub-folders — put each label's examples in "
                                           f"{tmp / 'flat'}/<label>/, one .txt file per example")


@case("label folder without .txt files")
def _(tmp):
    folder = write(tmp / "folder", TRAIN[:4])
    (folder / "neutral").mkdir()
    return with_valid(tmp, folder), (f"{folder / 'neutral'}: no .txt files for label 'neutral' — add its examples, "
                                     f"one .txt file each, or remove the folder")


@case("wrong field count")
def _(tmp):
    path = table(tmp / "fields.tsv", "sentence\tlabel", "a film\tpos", "a film\twith a tab\tneg", "a film\tneg")
    return with_valid(tmp, path), (f"{path}:3: 3 fields, the header has 2 — fix the row (a TSV is split on every tab, "
                                   f"without quoting){SKIP}")


@case("unknown format")
def _(tmp):
    path = tmp / "train.txt"
    path.write_text("a film\n")
    return with_valid(tmp, path), (f"{path}: unknown format '.txt' — name the file *.csv, *.tsv, *.jsonl, or give a "
                                   f"folder with one sub-folder per label")


@case("regression label not a number")
def _(tmp):
    path = table(tmp / "score.csv", "sentence,label", "a film,0.5", "a film,high", "a film,0.1")
    return with_valid(tmp, path, "--regression"), f"{path}:3: label 'high' is not a number — write a number (--regression){SKIP}"


@case("JSONL line not an object")
def _(tmp):
    path = tmp / "object.jsonl"
    path.write_text('{"sentence": "a b", "label": "pos"}\n["c d", "neg"]\n')
    return with_valid(tmp, path), f'{path}:2: not a JSON object — write one {{"key": value, ...}} object a line{SKIP}'


@case("not a pretraining data-bin")
def _(tmp):
    (tmp / "no-bin").mkdir()
    path = write(tmp / "train.csv", TRAIN)
    return (with_valid(tmp, path, "--tokenizer-dir", tmp / "no-bin"),
            f"{tmp / 'no-bin' / 'tokenizer.json'}: no tokenizer manifest — pass the data-bin directory written by "
            f"preprocess/pretrain/prepare_corpus.py")


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_exit_2_and_nothing_written(name, sp_data_bin, tmp_path, capsys):
    flags, expected = CASES[name](tmp_path)
    entries = set(tmp_path.iterdir())
    assert prepare(sp_data_bin, tmp_path / "out" / "bin", *flags) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {expected}\n" and captured.out == ""
    assert set(tmp_path.iterdir()) == entries  # no out/, no partial data-bin
