"""Numbers read back from fairseq-train's text log (the `json`-free default `simple`/`tqdm` format), shared by the
demo and the reproduction reports.

Validation lines look like `valid on 'valid' subset | loss 8.4 | ... | accuracy 51.3 | ... | num_updates 300`;
train lines like `| train_inner | epoch 001: ... loss=9.1, ..., num_updates=50, ...`.
"""
import re

VALID_LINE = "valid on 'valid' subset"
TRAIN_LINE = "| train_inner |"


def _number(line, key):
    m = re.search(rf"(?:\| |\b){re.escape(key)}[= ]([-\d.]+(?:e[-+]?\d+)?)", line)
    return float(m.group(1)) if m else None


def _curve(text, marker, key):
    rows = []
    for line in text.splitlines():
        if marker in line:
            value, updates = _number(line, key), _number(line, "num_updates")
            if value is not None and updates is not None:
                rows.append((int(updates), value))
    return rows


def valid_curve(text, key="loss"):
    """[(num_updates, value of `key`)] of every validation line."""
    return _curve(text, VALID_LINE, key)


def train_curve(text, key):
    """[(num_updates, value of `key`)] of every train_inner line."""
    return _curve(text, TRAIN_LINE, key)


def best_valid(text, key="accuracy"):
    """Highest validation value of `key` over the run (fairseq's GLUE practice: best epoch), or None."""
    values = [_number(line, key) for line in text.splitlines() if VALID_LINE in line]
    values = [v for v in values if v is not None]
    return max(values) if values else None


def wall_seconds(text):
    """Seconds fairseq-train reports at the end of a finished run, or None."""
    m = re.search(r"done training in ([\d.]+) seconds", text)
    return float(m.group(1)) if m else None
