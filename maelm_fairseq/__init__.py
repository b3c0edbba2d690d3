"""maelm-fairseq: MAE-LM / 3ML pretraining as a fairseq plugin.

Importing the package registers task `maelm`, model `maelm` (+ architectures) and criterion `maelm` exactly once,
whether it arrives through `--user-dir maelm_fairseq`, `common.user_dir` or a plain `import maelm_fairseq`.
"""
from fairseq.tasks import TASK_REGISTRY as _TASKS

_loaded = _TASKS.get("maelm")
if _loaded is not None and not _loaded.__module__.startswith(__name__ + "."):
    # A second copy of the plugin under another module name (a renamed or copied directory given to --user-dir
    # while the first copy is loaded): fairseq would fail with "Cannot register duplicate ...".
    import sys as _sys

    _first = _sys.modules[_loaded.__module__.split(".")[0]]
    raise _first.errors.UserInputError(
        f"--user-dir {__path__[0]}: the maelm plugin is already loaded from {_first.__path__[0]} (module "
        f"{_first.__name__}); give --user-dir once, pointing at that directory (maelm-train adds it for you)")

from . import criterions, fairseq_fixes, models, tasks  # noqa: E402,F401

fairseq_fixes.install()  # atomic checkpoint copies, readable checkpoint errors, DDP on CPU (see the module)
