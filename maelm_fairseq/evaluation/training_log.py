"""Numbers read back from fairseq's text log (the `simple`/`tqdm` formats, not `json`): the one reader of its log
lines, for the demo, the reproduction reports, the GLUE recipe and the tests.

Validation lines (fairseq-train and fairseq-validate) look like
`| valid | epoch 001 | valid on 'valid' subset | loss 8.4 | ... | accuracy 51.3 | ... | num_updates 300`;
train lines like `| train_inner | epoch 001:     50 / 151 loss=9.1, ..., num_updates=50, ...`.
"""
import math
import re

VALID_LINE = "valid on 'valid' subset"
TRAIN_LINE = "| train_inner |"
_NUMBER = r"-?(?:[\d.]+(?:e[-+]?\d+)?|nan|inf)"
_TRAIN_FIELD = re.compile(rf"\b(\w+)=({_NUMBER})(?=,|\s*$)")
_VALID_FIELD = re.compile(rf"\| (\w+) ({_NUMBER})(?= \||\s*$)")


def line_values(line):
    """{name: value} of a train_inner line (`name=value, ...`) or a validation line (`| name value`, those after
    the subset, so not the epoch); {} for any other line. nan and inf are read as such."""
    if VALID_LINE in line:
        return {k: float(v) for k, v in _VALID_FIELD.findall(line.split(VALID_LINE, 1)[1])}
    if TRAIN_LINE in line:
        return {k: float(v) for k, v in _TRAIN_FIELD.findall(line)}
    return {}


def valid_rows(text):
    """line_values of every validation line, in order."""
    return [line_values(line) for line in text.splitlines() if VALID_LINE in line]


def _curve(rows, key):
    return [(int(row["num_updates"]), row[key]) for row in rows
            if math.isfinite(row.get(key, math.nan)) and "num_updates" in row]


def valid_curve(text, key="loss"):
    """[(num_updates, value of `key`)] of every validation line (non-finite values left out)."""
    return _curve(valid_rows(text), key)


def train_curve(text, key):
    """[(num_updates, value of `key`)] of every train_inner line (non-finite values left out)."""
    return _curve([line_values(line) for line in text.splitlines() if TRAIN_LINE in line], key)


def best_valid(text, key="accuracy"):
    """Highest finite validation value of `key` over the run (fairseq's GLUE practice: best epoch), or None."""
    values = [row[key] for row in valid_rows(text) if math.isfinite(row.get(key, math.nan))]
    return max(values) if values else None


def wall_seconds(text):
    """Seconds fairseq-train reports at the end of a finished run, or None."""
    m = re.search(r"done training in ([\d.]+) seconds", text)
    return float(m.group(1)) if m else None
