"""Read labelled examples from a CSV, TSV or JSONL file (format from the extension; the header row or the JSON keys
name the columns) or from a folder with one sub-folder per label holding one example per `.txt` file.

Problems of one row come back as BadRow records (the caller refuses them or, with --skip-bad-rows, drops them);
problems of the whole file (no such column, nothing to read) raise at once. Texts are put on one line (runs of
white space, newlines included, become one space): each example is one line of the encoded files.

CSV follows the usual quoting rules; TSV is split on tabs only, without quoting, as GLUE and fairseq's own tsv
files are (their sentences contain unbalanced quote characters).
"""
import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

from preprocess.errors import fail

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl"}
UTF8_FIX = "save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8)"


@dataclass(frozen=True)
class Example:
    where: str  # "file:line", how messages and the report name it
    texts: tuple  # one or two texts
    label: str = None  # None where the input has no labels (a test set)


@dataclass(frozen=True)
class BadRow:
    where: str
    what: str
    fix: str


def one_line(text):
    return " ".join(text.split())


def _decode(path):
    """The file's text; bytes that are not UTF-8 become lone surrogates, so the row holding them is the one refused
    (a leading byte-order mark, as spreadsheet programs write it, is dropped)."""
    return Path(path).read_bytes().decode("utf-8-sig", errors="surrogateescape")


def _not_utf8(text):
    """The first byte of `text` that was not UTF-8, or None."""
    for char in text:
        if "\udc80" <= char <= "\udcff":
            return ord(char) - 0xDC00
    return None


def _utf8_problem(where, *values):
    for value in values:
        byte = _not_utf8(value) if isinstance(value, str) else None
        if byte is not None:
            return BadRow(where, f"not UTF-8 (byte 0x{byte:02x})", UTF8_FIX)
    return None


def _texts_of(where, values, names):
    """(texts, None) or (None, BadRow) for the raw text values of one row."""
    texts = tuple(one_line(value) for value in values)
    for name, text in zip(names, texts):
        if not text:
            return None, BadRow(where, f"empty text{f' in {name!r}' if name else ''}", "fill it in")
    return texts, None


def _row(where, values, names, label):
    """Example or BadRow from raw values (label None: an unlabelled row)."""
    bad = _utf8_problem(where, *values, label)
    if bad:
        return bad
    texts, bad = _texts_of(where, values, names)
    if bad:
        return bad
    if label is not None:
        label = label.strip()
        if not label:
            return BadRow(where, "empty label", "fill it in")
    return Example(where, texts, label)


def _read_table(path, text_columns, label_column, labelled, delimiter):
    reader = csv.reader(io.StringIO(_decode(path), newline=""), delimiter=delimiter,
                        quoting=csv.QUOTE_NONE if delimiter == "\t" else csv.QUOTE_MINIMAL)
    rows = []
    try:
        header = next(reader, None)
        if header is None:
            fail(path, "empty file", "give a header row naming the columns, then one example a row")
        if _not_utf8("".join(header)) is not None:
            fail(f"{path}:1", "header not UTF-8", UTF8_FIX)
        header = [name.strip() for name in header]
        if labelled is None:  # a test file: labelled when it has the label column
            labelled = label_column in header
        for name, flag in [(name, "--text-column") for name in text_columns] + [(label_column, "--label-column")] * labelled:
            if name not in header:
                fail(f"{path}:1", f"no column {name!r} (the header has: {', '.join(header)})",
                     f"pass {flag} with one of them")
        positions = [header.index(name) for name in text_columns]
        label_position = header.index(label_column) if labelled else None
        line = reader.line_num + 1
        for fields in reader:
            where, line = f"{path}:{line}", reader.line_num + 1  # a quoted field may span lines: name the first
            if not fields:
                continue  # blank line
            if len(fields) != len(header):
                rows.append(BadRow(where, f"{len(fields)} fields, the header has {len(header)}",
                                   "fix the row (a TSV is split on every tab, without quoting)" if delimiter == "\t"
                                   else "fix the row (quote fields holding commas)"))
                continue
            label = fields[label_position] if labelled else None
            rows.append(_row(where, [fields[p] for p in positions], text_columns if len(text_columns) > 1 else [None], label))
    except csv.Error as e:
        fail(f"{path}:{reader.line_num}", f"not readable as {FORMATS[Path(path).suffix.lower()].upper()} ({e})",
             "fix the quoting of this row")
    return rows


def _read_jsonl(path, text_columns, label_column, labelled):
    rows = []
    for number, line in enumerate(_decode(path).split("\n"), start=1):
        where = f"{path}:{number}"
        if not line.strip():
            continue
        bad = _utf8_problem(where, line)
        if bad:
            rows.append(bad)
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            rows.append(BadRow(where, "not a JSON object", "write one {\"key\": value, ...} object a line"))
            continue
        if labelled is None:  # a test file: labelled when its first record has the label key
            labelled = label_column in record
        names = list(text_columns) + [label_column] * labelled
        missing = [name for name in names if name not in record]
        if missing:
            flag = "--label-column" if missing[0] == label_column else "--text-column"
            rows.append(BadRow(where, f"no key {missing[0]!r} (the keys are: {', '.join(record)})",
                               f"add it or pass {flag} with one of them"))
            continue
        values = [record[name] for name in text_columns]
        label = record[label_column] if labelled else None
        if not all(isinstance(value, str) for value in values):
            rows.append(BadRow(where, "a text is not a JSON string", "quote it"))
            continue
        if label is not None and (isinstance(label, bool) or not isinstance(label, (str, int, float))):
            rows.append(BadRow(where, f"label {label!r} is not a string or a number", "write it as one"))
            continue
        rows.append(_row(where, values, text_columns if len(text_columns) > 1 else [None],
                         None if label is None else str(label)))
    return rows


def _read_folder(path, labelled):
    """One sub-folder per label, one `.txt` file per example; a test folder may instead hold the `.txt` files
    itself (no labels). Hidden entries are ignored; so are files of other kinds."""
    path = Path(path)
    folders = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = sorted(p for p in path.glob("*.txt") if not p.name.startswith("."))
    if not folders:
        if labelled is None and loose:  # an unlabelled test folder
            return [_read_text_file(file, None) for file in loose]
        fail(path, "no label sub-folders" if any(path.iterdir()) else "empty folder",
             f"put each label's examples in {path}/<label>/, one .txt file per example")
    rows = []
    for folder in folders:
        files = sorted(p for p in folder.glob("*.txt") if not p.name.startswith("."))
        if not files:
            fail(folder, f"no .txt files for label {folder.name!r}", "add its examples, one .txt file each, or remove the folder")
        rows += [_read_text_file(file, folder.name) for file in files]
    return rows


def _read_text_file(file, label):
    data = file.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        return BadRow(f"{file}:{line}", f"not UTF-8 (byte 0x{data[e.start]:02x})", UTF8_FIX)
    return _row(f"{file}:1", [text], [None], label)


def read_examples(path, text_columns, label_column, labelled):
    """Examples and BadRows of `path`, in file order. `labelled`: True (train, valid), or None for a test input,
    which is labelled when it has the label column (a folder: label sub-folders)."""
    path = Path(path)
    if path.is_dir():
        return _read_folder(path, labelled)
    if not path.is_file():
        fail(path, "not found", "give an existing CSV/TSV/JSONL file or a folder with one sub-folder per label")
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        fail(path, f"unknown format {path.suffix!r}",
             f"name the file {', '.join('*' + suffix for suffix in FORMATS)}, or give a folder with one sub-folder per label")
    if kind == "jsonl":
        return _read_jsonl(path, text_columns, label_column, labelled)
    return _read_table(path, text_columns, label_column, labelled, "," if kind == "csv" else "\t")
