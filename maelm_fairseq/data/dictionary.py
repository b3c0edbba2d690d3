"""A data-bin's dict.txt read as every task of ours reads it, with one readable line for each way it can be wrong.

The ids are fairseq's: <s> <pad> </s> <unk>, dict.txt in order, then `<mask>` (pretraining, SQuAD and the HF export
all add it, so the embedding sizes agree). `Dictionary.load` is fairseq's, with the plugin's reading of a MAE-LM
repository dict.txt (fairseq_fixes, data/fork_dictionary.py), installed here for commands that do not load the plugin.
"""
import os

from fairseq import utils
from fairseq.data import Dictionary

from .. import fairseq_fixes
from ..errors import UserInputError

PREPROCESS_HINT = "create it with fairseq-preprocess --only-source (see preprocess/README.md)"
MISSING_HINT = f"the data directory must hold the dict.txt written by fairseq-preprocess: {PREPROCESS_HINT}"


def check_data_dirs(data):
    """The directories of DATA (fairseq's `a:b:c` shards), each checked to exist."""
    if not data:  # split_paths("") is [""], never empty: test the string
        raise UserInputError("DATA (first argument of fairseq-train / task.data): no data directory given; "
                             f"pass the data-bin directory ({PREPROCESS_HINT})")
    paths = utils.split_paths(data)
    for path in paths:
        if not os.path.isdir(path):
            raise UserInputError(f"{path}: data directory not found (DATA, the first argument of fairseq-train); "
                                 f"check the path, or {PREPROCESS_HINT}")
    return paths


def load_dictionary(path, missing_hint=MISSING_HINT, mask=True):
    """The Dictionary of dict.txt at `path`, `<mask>` appended unless `mask` is False (for fairseq's MaskedLMTask,
    which appends it itself: a second add_symbol would double its count). `missing_hint` says where the file
    comes from, for the caller's data directory."""
    if not os.path.isfile(path):
        raise UserInputError(f"{path}: dictionary not found; {missing_hint}")
    fairseq_fixes.install()
    try:
        dictionary = Dictionary.load(path)
    except UserInputError:  # the plugin's reader's own line (e.g. a file in neither dictionary format)
        raise
    except Exception as e:  # fairseq raises ValueError, RuntimeError or a bare Exception (bad encoding)
        reason = str(e).splitlines()[0].split(". ")[0][:160]
        raise UserInputError(f"{path}: not a fairseq dictionary ({reason}); each line must "
                             f"be `<token> <count>`; regenerate it with fairseq-preprocess") from None
    if len(dictionary) <= dictionary.nspecial:
        raise UserInputError(f"{path}: the dictionary has no symbols; regenerate it with fairseq-preprocess "
                             f"from a non-empty corpus")
    if mask:
        dictionary.add_symbol("<mask>")
    return dictionary
