"""Bad input in the preprocessing pipelines raises the project's one error type (maelm_fairseq.errors): a message
`<path>: <what> — <fix>`, printed as one line with exit status 2 by each pipeline's `main` (console_main)."""
from maelm_fairseq.errors import UserInputError


def fail(path, what, fix):
    raise UserInputError(f"{path}: {what} — {fix}")
