"""Read a GLUE tsv split into (sentences, label) rows (test splits: (index, sentences)), refusing rows with the wrong
number of fields.

Fields are split on tabs only, without csv quoting: GLUE sentences contain unbalanced quote characters.
"""
from preprocess.errors import fail
from preprocess.glue.tasks import STSB_MAX_SCORE

MAX_LINE_NUMBERS_SHOWN = 10


def _line_list(numbers):
    shown = ", ".join(str(n) for n in numbers[:MAX_LINE_NUMBERS_SHOWN])
    return shown + (f", … ({len(numbers) - MAX_LINE_NUMBERS_SHOWN} more)" if len(numbers) > MAX_LINE_NUMBERS_SHOWN else "")


def read_split(path, task, split, skip_bad_rows):
    """Return (rows, bad_line_numbers); each row is (tuple of sentences, label string)."""
    rows, bad_lines = [], []
    with open(path, encoding="utf-8", newline="") as handle:
        for line_number, line in enumerate(handle, start=1):
            if split.has_header and line_number == 1:
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != split.fields:
                bad_lines.append(line_number)
                continue
            label = fields[split.label_column].strip()
            if not _label_is_valid(label, task.regression):
                bad_lines.append(line_number)
                continue
            rows.append((tuple(fields[c].strip() for c in task.input_columns), label))
    if bad_lines and not skip_bad_rows:
        fail(
            path,
            f"{len(bad_lines)} row(s) without {split.fields} tab-separated fields and a valid label "
            f"(line {_line_list(bad_lines)})",
            "fix the file or pass --skip-bad-rows to drop them",
        )
    if not rows:
        fail(path, "no usable rows", "check that this is the GLUE tsv for the task")
    return rows, bad_lines


def read_test_split(path, spec):
    """Return [(row index, tuple of sentences)] of a test file. Bad rows always fail: a submission needs every row."""
    rows, bad_lines = [], []
    with open(path, encoding="utf-8", newline="") as handle:
        for line_number, line in enumerate(handle, start=1):
            if line_number == 1:
                continue  # header
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != spec.fields or not fields[0].strip():
                bad_lines.append(line_number)
                continue
            rows.append((fields[0].strip(), tuple(fields[c].strip() for c in spec.input_columns)))
    if bad_lines:
        fail(path, f"{len(bad_lines)} row(s) without {spec.fields} tab-separated fields and an index (line "
             f"{_line_list(bad_lines)})", "fix the file (test rows cannot be dropped: the benchmark scores every one)")
    if not rows:
        fail(path, "no rows", "check that this is the GLUE test tsv for the task")
    return rows


def _label_is_valid(label, regression):
    if not regression:
        return bool(label)
    try:
        return 0.0 <= float(label) <= STSB_MAX_SCORE
    except ValueError:
        return False
