"""One copy of the plugin per process: a second one (a renamed or copied plugin directory given to --user-dir while
the first copy is loaded) is refused in one line before it registers anything; fairseq would fail with
"Cannot register duplicate ...".

This module is also what fairseq's `--user-dir` loader finds in `tasks/` and imports, and with it the package's
__init__.py, which registers the plugin: keep a module here."""
import sys

from fairseq.tasks import TASK_REGISTRY

_PLUGIN = __name__.rsplit(".", 2)[0]
_loaded = TASK_REGISTRY.get("maelm")
if _loaded is not None and not _loaded.__module__.startswith(_PLUGIN + "."):
    _first = sys.modules[_loaded.__module__.split(".")[0]]
    raise _first.errors.UserInputError(
        f"--user-dir {sys.modules[_PLUGIN].__path__[0]}: the maelm plugin is already loaded from "
        f"{_first.__path__[0]} (module {_first.__name__}); give --user-dir once, pointing at that directory "
        f"(maelm-train adds it for you)")
