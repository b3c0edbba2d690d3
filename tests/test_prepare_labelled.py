"""maelm-prepare-labelled: every input form, pairs, regression, the stratified split, every refusal (one line, exit
status 2, nothing written), --skip-bad-rows, the length report, and a fine-tune on a folder-per-label set whose long
examples are truncated."""
import collections
import csv
import json
from pathlib import Path

import pytest
from fairseq.data import Dictionary, data_utils

from helpers import CPU_ENV, logged_values, record_workers, run_cli
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
    path = table(tmp / "empty.csv", "sentence,label", *CSV_ROWS[:3], '"  ",pos', *CSV_ROWS[3:], ",neg", ",pos")
    return with_valid(tmp, path), f"{path}:5: empty text (and 2 more bad rows) — fill it in{SKIP}"


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
    return with_valid(tmp, path), (f"{path}:8: label 'very good' has a space (and 1 more bad row) — fairseq reads a "
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


def test_skip_bad_rows_drops_and_lists_them(sp_data_bin, tmp_path, capsys):
    train = table(tmp_path / "train.csv", "sentence,label", *CSV_ROWS, " ,pos", "a film,postive", "a film,very good",
                  "caf\udce9,neg", *[f"{t},{l}" for t, l in TRAIN[6:]])
    valid = table(tmp_path / "valid.csv", "sentence,label", *[f"{t},{l}" for t, l in VALID], "a film,neutral")
    assert prepare(sp_data_bin, tmp_path / "bin", "--input", train, "--valid-input", valid, "--skip-bad-rows") == 0
    out = capsys.readouterr().out
    assert ("dropped 5 bad rows (--skip-bad-rows):\n"
            f"  {train}:8: empty text\n"
            f"  {train}:10: label 'very good' has a space\n"
            f"  {train}:11: not UTF-8 (byte 0xe9)\n"
            f"  {train}:9: label 'postive' has only 1 example\n"
            f"  {valid}:8: label 'neutral' is not among the training labels (neg, pos)\n") in out
    tokenizer = load_tokenizer(sp_data_bin)
    assert rows_of(tmp_path / "bin", "train", tokenizer) == TRAIN and rows_of(tmp_path / "bin", "valid", tokenizer) == VALID


@pytest.mark.parametrize("labelled", [True, False])
def test_test_input_with_or_without_labels(labelled, sp_data_bin, tmp_path, capsys):
    test_rows = [(sentence(200 + i), "neg" if i % 2 else "pos") for i in range(5)]
    test = (write(tmp_path / "test.tsv", test_rows) if labelled
            else write(tmp_path / "test.tsv", [(text,) for text, _ in test_rows], ("sentence",)))
    assert prepare(sp_data_bin, tmp_path / "bin", "--input", write(tmp_path / "train.csv", TRAIN), "--valid-input",
                   write(tmp_path / "valid.csv", VALID), "--test-input", test) == 0
    tokenizer = load_tokenizer(sp_data_bin)
    assert texts(tmp_path / "bin", "test", tokenizer) == [text for text, _ in test_rows]
    assert (tmp_path / "bin" / "label" / "test.bin").exists() == labelled
    if labelled:
        assert labels(tmp_path / "bin", "test") == [label for _, label in test_rows]
    assert ("  test        5 examples, " + ("labels 'neg' 2, 'pos' 3" if labelled else "no labels")) in capsys.readouterr().out


def test_unlabelled_test_folder_holds_the_txt_files_itself(sp_data_bin, tmp_path):
    (tmp_path / "test").mkdir()
    for i in range(3):
        (tmp_path / "test" / f"{i}.txt").write_text(sentence(300 + i) + "\n")
    assert prepare(sp_data_bin, tmp_path / "bin", "--input", write(tmp_path / "train", TRAIN), "--valid-fraction", 0.2,
                   "--test-input", tmp_path / "test") == 0
    assert texts(tmp_path / "bin", "test", load_tokenizer(sp_data_bin)) == [sentence(300 + i) for i in range(3)]
    assert not list((tmp_path / "bin" / "label").glob("test.*"))


def test_long_examples_are_counted_and_named(sp_data_bin, tmp_path, capsys):
    rows = list(TRAIN)
    rows[2] = (" ".join(sentence(i) for i in range(12)), rows[2][1])  # line 4 of the file
    rows[9] = (" ".join(sentence(i) for i in range(8)), rows[9][1])  # line 11
    train = write(tmp_path / "train.csv", rows)
    assert prepare(sp_data_bin, tmp_path / "bin", "--input", train, "--valid-input", write(tmp_path / "v.csv", VALID)) == 0
    assert "no example is longer than --max-positions 512" in capsys.readouterr().out
    lengths = [len(item) + 1 for item in load(tmp_path / "bin" / "input0", "train")[1]]  # + <s>
    valid_lengths = [len(item) + 1 for item in load(tmp_path / "bin" / "input0", "valid")[1]]
    limit = max(sorted(lengths)[-3], *valid_lengths)  # only the two long ones are longer
    assert prepare(sp_data_bin, tmp_path / "bin", "--input", train, "--valid-input", tmp_path / "v.csv",
                   "--max-positions", limit) == 0
    out = capsys.readouterr().out
    assert (f"2 examples are longer than --max-positions {limit}: {train}:4 ({lengths[2]} tokens), {train}:11 "
            f"({lengths[9]} tokens)\n  fine-tune with --shorten-method truncate --shorten-data-split-list train ") in out
    assert f"--max-positions {limit}\n" in out  # in the fine-tuning flags


def test_workers_give_identical_output(sp_data_bin, tmp_path, monkeypatch):
    flags = ["--input", write(tmp_path / "train.csv", TRAIN), "--valid-fraction", 0.25]
    assert prepare(sp_data_bin, tmp_path / "one", *flags) == 0
    seen = record_workers(monkeypatch)
    assert prepare(sp_data_bin, tmp_path / "two", *flags, "--workers", 2) == 0
    assert seen and set(seen) == {2}
    for part in ("input0/train.bin", "input0/valid.bin", "label/train.bin", "label/dict.txt"):
        assert (tmp_path / "one" / part).read_bytes() == (tmp_path / "two" / part).read_bytes()


def test_rerun_replaces_the_bin_and_a_failed_build_keeps_it(sp_data_bin, tmp_path, monkeypatch):
    flags = ["--valid-input", write(tmp_path / "valid.csv", VALID)]
    out = tmp_path / "bin"
    assert prepare(sp_data_bin, out, "--input", write(tmp_path / "a.csv", TRAIN[:12]), *flags) == 0
    assert prepare(sp_data_bin, out, "--input", write(tmp_path / "b.csv", TRAIN), *flags) == 0  # label dict rewritten
    assert len(load(out / "input0", "train")[1]) == len(TRAIN)

    def broken(bin_dir, *args, **kwargs):
        (bin_dir / "input0").mkdir()
        raise RuntimeError("disk full")

    monkeypatch.setattr(prepare_labelled, "write_sentence_prediction_bin", broken)
    with pytest.raises(RuntimeError):
        prepare(sp_data_bin, out, "--input", tmp_path / "a.csv", *flags)
    assert len(load(out / "input0", "train")[1]) == len(TRAIN)
    assert sorted(p.name for p in tmp_path.iterdir() if "bin" in p.name) == ["bin"]  # no partial left


@pytest.mark.parametrize("flags, message", [
    (["--text-column", "a", "b", "c"], "--text-column takes one name, or two for sentence pairs"),
    (["--valid-fraction", "1.5"], "--valid-fraction must be between 0 and 1"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--max-positions", "1"], "--max-positions must be at least 2"),
])
def test_bad_flags_are_usage_errors(flags, message, sp_data_bin, tmp_path, capsys):
    valid = [] if "--valid-fraction" in flags else ["--valid-fraction", "0.2"]
    with pytest.raises(SystemExit) as exit_:
        prepare(sp_data_bin, tmp_path / "bin", "--input", write(tmp_path / "t.csv", TRAIN), *valid, *flags)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_pairs_need_files_not_folders(sp_data_bin, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        prepare(sp_data_bin, tmp_path / "bin", "--input", write(tmp_path / "folder", TRAIN), "--valid-fraction", 0.2,
                "--text-column", "a", "b")
    assert exit_.value.code == 2 and "a folder gives one text per example" in capsys.readouterr().err


def test_console_script_help_and_error_line(sp_data_bin, tmp_path):
    help_text = prepare_labelled.build_parser().format_help()
    for flag in ("--input", "--valid-input", "--valid-fraction", "--test-input", "--seed", "--text-column",
                 "--label-column", "--regression", "--tokenizer-dir", "--output", "--max-positions", "--workers",
                 "--skip-bad-rows"):
        assert flag in help_text
    status, output = run_cli(["maelm-prepare-labelled", "--input", tmp_path / "none.csv", "--valid-fraction", 0.1,
                              "--tokenizer-dir", sp_data_bin, "--output", tmp_path / "bin"], check=False)
    assert status == 2 and output.strip().splitlines() == [
        f"error: {tmp_path / 'none.csv'}: not found — give an existing CSV/TSV/JSONL file or a folder with one "
        f"sub-folder per label"]


FINETUNE = ["--user-dir", "maelm_fairseq", "--task", "sentence_prediction", "--criterion", "sentence_prediction",
            "--arch", "maelm_tiny", "--num-classes", 2, "--init-token", 0, "--optimizer", "adam", "--lr", 1e-3,
            "--batch-size", 8, "--cpu", "--num-workers", 0, "--log-format", "simple", "--seed", 1, "--no-save",
            "--max-update", 6]


def test_folder_per_label_fine_tunes_with_truncation(sp_data_bin, tmp_path, capsys):
    """A folder-per-label set nobody prepared for us, some reviews longer than the model's positions: the data-bin
    fine-tunes with --shorten-method truncate, and fairseq refuses it without (the report says so)."""
    reviews = tmp_path / "reviews"
    for i in range(20):
        label = "good" if i % 2 else "bad"
        (reviews / label).mkdir(parents=True, exist_ok=True)
        words = ("great fine lovely " if label == "good" else "awful dull poor ") * (1 + (i % 5) * 4)
        (reviews / label / f"review{i:02d}.txt").write_text(f"{words}\n\nthe end of review {i}\n")
    out = tmp_path / "reviews-bin"
    assert prepare(sp_data_bin, out, "--input", reviews, "--valid-fraction", 0.3, "--max-positions", 32) == 0
    report = capsys.readouterr().out
    assert "longer than --max-positions 32" in report
    assert "--shorten-method truncate --shorten-data-split-list train,valid" in report

    flags = [*FINETUNE, "--max-positions", 32, "--save-dir", tmp_path / "save"]
    status, output = run_cli(["fairseq-train", out, *flags], check=False, env=CPU_ENV)
    assert status != 0 and "is invalid (=" in output and "max_positions=32" in output
    _, output = run_cli(["fairseq-train", out, *flags, "--shorten-method", "truncate", "--shorten-data-split-list",
                         "train,valid"], env=CPU_ENV)
    assert "done training" in output and logged_values(output, "accuracy", kind="valid")
