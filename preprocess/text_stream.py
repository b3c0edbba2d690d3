"""Streaming readers for raw text: lines are read one at a time so memory stays flat on large corpora."""
from pathlib import Path

from preprocess.errors import fail


def check_readable(paths):
    """Fail early, before any work is done, when an input file is missing."""
    for path in paths:
        if not Path(path).is_file():
            fail(path, "input file not found", "check the path given to --input/--valid-input")


def iter_stripped_lines(paths):
    """Yield every line of every file, stripped of surrounding whitespace, in order.

    A blank line is yielded after each file so that a document never continues into the next file.
    """
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                yield line.strip()
        yield ""


def collapse_blank_lines(lines):
    """Keep exactly one blank line between documents and none at the start or the end.

    fairseq's `complete_doc` break mode treats an empty line as a document boundary, so runs of blank
    lines would otherwise create empty documents.
    """
    pending_blank = False
    seen_text = False
    for line in lines:
        if not line:
            pending_blank = seen_text
            continue
        if pending_blank:
            yield ""
            pending_blank = False
        seen_text = True
        yield line

