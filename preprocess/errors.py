"""One way to stop on bad input: a single readable line on stderr and a non-zero exit, never a traceback."""
import sys

EXIT_BAD_INPUT = 2


def fail(path, what, fix):
    """Print `error: <path>: <what> — <fix>` and exit with status 2."""
    print(f"error: {path}: {what} — {fix}", file=sys.stderr, flush=True)
    sys.exit(EXIT_BAD_INPUT)
