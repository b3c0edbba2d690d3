"""Registers the whole plugin with fairseq, once per process (Python imports a module once), and installs
fairseq_fixes' patches.

fairseq's `--user-dir maelm_fairseq` imports the package (which registers nothing), then every module of `tasks/` (so
this package first) and of `models/`; it never imports `criterions/`. So this package brings the criterions and the
model with the tasks, and installs the patches before any task is set up, model built or checkpoint loaded. That
loader skips a package that is already imported (by a console script of ours, or a tool that reads checkpoints):
such code imports `maelm_fairseq.tasks` itself.
"""
import sys

from fairseq.tasks import TASK_REGISTRY

_PLUGIN = __name__.rsplit(".", 1)[0]
_loaded = TASK_REGISTRY.get("maelm")
if _loaded is not None and not _loaded.__module__.startswith(_PLUGIN + "."):
    # A second copy of the plugin under another module name (a renamed or copied directory given to --user-dir
    # while the first copy is loaded): fairseq would fail with "Cannot register duplicate ...".
    _first = sys.modules[_loaded.__module__.split(".")[0]]
    raise _first.errors.UserInputError(
        f"--user-dir {sys.modules[_PLUGIN].__path__[0]}: the maelm plugin is already loaded from "
        f"{_first.__path__[0]} (module {_first.__name__}); give --user-dir once, pointing at that directory "
        f"(maelm-train adds it for you)")

from .. import criterions, fairseq_fixes, models  # noqa: E402,F401
from . import maelm  # noqa: E402,F401
from ..glue import criterion  # noqa: E402,F401
from ..squad import criterion, task  # noqa: E402,F401

fairseq_fixes.install()  # atomic checkpoint copies, readable checkpoint errors, DDP on CPU, ... (see the module)
