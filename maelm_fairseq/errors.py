"""The one exception type for mistakes in what the user gave us (paths, files, flags, checkpoints).

Its message starts with the file or flag at fault and ends with the fix. `maelm-train` / `maelm-hydra-train`
print it as one line, `error: <message>`, and exit 2; under plain `fairseq-train` it is the last line of the
traceback. It subclasses ValueError so callers that caught the plugin's earlier ValueErrors keep working.
"""


class UserInputError(ValueError):
    """Bad input: the message names the file/flag and says how to fix it."""
