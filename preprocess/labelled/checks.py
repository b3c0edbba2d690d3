"""What a label must be for fine-tuning, and what happens to a bad row: refused in one line naming it, or with
--skip-bad-rows dropped and listed."""
import collections
import math

from preprocess.errors import fail
from preprocess.labelled.read_examples import BadRow, Example

SHOWN = 10  # bad rows listed by --skip-bad-rows


class BadRows:
    """Collects what --skip-bad-rows dropped; without it, the first bad row stops the run."""

    def __init__(self, skip):
        self.skip = skip
        self.dropped = []

    def keep(self, rows):
        """The Examples of `rows`; its BadRows are refused or dropped."""
        bad = [row for row in rows if isinstance(row, BadRow)]
        if bad and not self.skip:
            more = f" (and {len(bad) - 1} more bad row{'s' if len(bad) > 2 else ''})" if len(bad) > 1 else ""
            fail(bad[0].where, bad[0].what + more, f"{bad[0].fix}, or pass --skip-bad-rows to drop bad rows")
        self.dropped += bad
        return [row for row in rows if isinstance(row, Example)]

    def report(self):
        if not self.dropped:
            return []
        lines = [f"dropped {len(self.dropped)} bad rows (--skip-bad-rows):"]
        lines += [f"  {row.where}: {row.what}" for row in self.dropped[:SHOWN]]
        if len(self.dropped) > SHOWN:
            lines.append(f"  ... {len(self.dropped) - SHOWN} more")
        return lines


def label_value(example, regression):
    """The example, its label written as the data-bin stores it, or a BadRow."""
    if example.label is None:
        return example
    if regression:
        try:
            value = float(example.label)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            return BadRow(example.where, f"label {example.label!r} is not a number", "write a number (--regression)")
        return Example(example.where, example.texts, repr(value))
    if len(example.label.split()) > 1:
        return BadRow(example.where, f"label {example.label!r} has a space",
                      "fairseq reads a label as one word: rename it (e.g. with _ for the spaces)")
    return example


def too_rare(examples):
    """BadRows for the examples of a label seen fewer than 2 times (one can't be both trained on and validated)."""
    counts = collections.Counter(example.label for example in examples)
    return [BadRow(e.where, f"label {e.label!r} has only {counts[e.label]} example",
                   "fix the label or add examples of it") if counts[e.label] < 2 else e for e in examples]


def unknown(examples, known):
    """BadRows for examples whose label is not a training label."""
    listed = ", ".join(sorted(known))
    return [BadRow(e.where, f"label {e.label!r} is not among the training labels ({listed})",
                   "fix the label or add training examples of it")
            if e.label is not None and e.label not in known else e for e in examples]
