"""The one exception type for mistakes in what the user gave us (paths, files, flags, checkpoints).

Its message starts with the file or flag at fault and ends with the fix. Library code raises it; only a console
script's `main` (wrapped in `console_main`) turns it into one line, `error: <message>`, and exit status 2. Under
plain `fairseq-train` it is the last line of the traceback. It subclasses ValueError so callers that caught the
plugin's earlier ValueErrors keep working.
"""
import functools
import sys

USAGE_ERROR = 2  # exit status of every command for bad input


class UserInputError(ValueError):
    """Bad input: the message names the file/flag and says how to fix it."""


class CheckpointMismatch(UserInputError):
    """A checkpoint that does not fit the model being built. The model finds the mismatch but does not know which
    file it reads nor which dict.txt the task loaded; the checkpoint loader does (fairseq_fixes), and re-raises the
    error `naming` them. `describe(checkpoint, dictionary)` writes the message."""

    UNNAMED = ("the checkpoint being loaded (--restore-file, default <save-dir>/checkpoint_last.pt)",
               "the data's dict.txt")

    def __init__(self, describe, checkpoint=UNNAMED[0], dictionary=UNNAMED[1]):
        self.describe = describe
        super().__init__(describe(checkpoint, dictionary))

    def __reduce__(self):  # pickled (e.g. across processes) as the plain error it reads as
        return UserInputError, (str(self),)

    def naming(self, checkpoint_path, dictionary_path):
        return CheckpointMismatch(self.describe, f"checkpoint {checkpoint_path}", dictionary_path)


def console_main(main):
    """Wrap a command's `main`: it returns its exit status (0 when main returns nothing); a UserInputError is
    printed as `error: <message>` on stderr and gives USAGE_ERROR; anything else (a bug) keeps its traceback."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            status = main(*args, **kwargs)
            return 0 if status is None else status
        except UserInputError as e:
            print(f"error: {e}", file=sys.stderr, flush=True)
            return USAGE_ERROR

    return wrapper
