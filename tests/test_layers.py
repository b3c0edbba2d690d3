"""The package is built in layers: a module imports from its own layer or the layers below, never from one above,
and the feature folders do not import one another (docs/design.md, "Where the code lives"). Every `import` and
`from ... import` is read with `ast`, those inside functions too."""
import ast
import os

import pytest

from helpers import REPO

PACKAGE = "maelm_fairseq"
# Lowest first. An entry is a package or module under maelm_fairseq ("" is the package's own __init__.py); a module
# is in the layer of the longest entry its dotted path starts with, so a command inside a lower folder is named here.
LAYERS = (
    ("foundation", ("", "errors")),  # imports nothing of ours
    # readers, layers, optimizers, patches, rank math
    ("building blocks", ("data", "modules", "optim", "fairseq_fixes", "analysis")),
    ("model", ("models",)),
    ("features", ("pretrain", "glue", "squad")),  # each: its task and/or criterion, and what only it uses
    ("registration", ("tasks",)),  # what fairseq's --user-dir loader imports: registers the layers below
    # console scripts, and the checkpoint readers they share (evaluation/inference.py)
    ("commands", ("cli", "import_fork", "evaluation", "export", "analysis.rank_cli", "glue.predict_cli",
                  "squad.predict_cli")),
)
FEATURES = dict(LAYERS)["features"]


def modules(root):
    """{dotted name: file} of every module of the package under `root`."""
    found = {}
    for folder, _, files in os.walk(os.path.join(root, PACKAGE)):
        for file in files:
            if file.endswith(".py"):
                parts = os.path.relpath(os.path.join(folder, file[:-3]), root).split(os.sep)
                found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = os.path.join(folder, file)
    return found


def entry_of(name, entries):
    """The longest of `entries` that the dotted `name` (in the package) is or lies under, or None."""
    relative = "" if name == PACKAGE else name[len(PACKAGE) + 1:]
    matching = [e for e in entries if relative == e or (e and relative.startswith(e + "."))]
    return max(matching, key=len, default=None)


def layer_of(name):
    """Index in LAYERS of the module (or attribute of a module) `name`, or None when no entry covers it."""
    found = [(len(entry), index) for index, (_, entries) in enumerate(LAYERS)
             if (entry := entry_of(name, entries)) is not None]
    return max(found)[1] if found else None


def imports(name, path):
    """(line, dotted target) of every import of our package in the module: `from a.b import c` gives a.b.c, the
    submodule or an attribute of a.b, which lie in the same layer unless c is a module named in LAYERS."""
    package = name if path.endswith("__init__.py") else name.rsplit(".", 1)[0]
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `from .` is this module's package, each further dot one package up
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        yield from ((node.lineno, t) for t in targets if t == PACKAGE or t.startswith(PACKAGE + "."))


def violations(root):
    """One line per import that runs up the layers, crosses between feature folders or names no layer."""
    found = []
    for name, path in sorted(modules(root).items()):
        own, feature = layer_of(name), entry_of(name, FEATURES)
        where = os.path.relpath(path, root)
        if own is None:
            found.append(f"{where}: {name} is in no layer; add it to LAYERS in tests/test_layers.py")
            continue
        for line, target in imports(name, path):
            theirs, their_feature = layer_of(target), entry_of(target, FEATURES)
            if theirs is None:
                found.append(f"{where}:{line}: imports {target}, which is in no layer")
            elif theirs > own:
                found.append(f"{where}:{line}: {name} ({LAYERS[own][0]}) imports {target} ({LAYERS[theirs][0]})")
            elif feature and their_feature and feature != their_feature:
                found.append(f"{where}:{line}: feature {feature} imports feature {their_feature} ({target})")
    return found


def test_no_module_imports_from_a_layer_above_its_own():
    assert len(modules(REPO)) > 50  # the walk found the package
    assert violations(REPO) == []


def write(root, name, text):
    path = root.joinpath(PACKAGE, *name.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize("module,source,expected", [
    ("models/model.py", "def f():\n    from ..squad import task\n",
     "models/model.py:2: maelm_fairseq.models.model (model) imports maelm_fairseq.squad.task (features)"),
    ("data/reader.py", "import maelm_fairseq.tasks\n",
     "data/reader.py:1: maelm_fairseq.data.reader (building blocks) imports maelm_fairseq.tasks (registration)"),
    ("squad/task.py", "from .predict_cli import main\n",
     "squad/task.py:1: maelm_fairseq.squad.task (features) imports maelm_fairseq.squad.predict_cli.main (commands)"),
    ("glue/criterion.py", "from ..squad.predictions import WindowLogits\n",
     "glue/criterion.py:1: feature glue imports feature squad (maelm_fairseq.squad.predictions.WindowLogits)"),
    ("scratch.py", "", "scratch.py: maelm_fairseq.scratch is in no layer"),
])
def test_the_check_finds_what_it_forbids(tmp_path, module, source, expected):
    for package in ("", "models/", "data/", "squad/", "glue/"):
        write(tmp_path, package + "__init__.py", "")
    write(tmp_path, module, source)
    found = violations(tmp_path)
    assert len(found) == 1 and found[0].startswith(os.path.join(PACKAGE, expected)), found


def test_allowed_imports_pass(tmp_path):
    for package in ("", "squad/", "evaluation/"):
        write(tmp_path, package + "__init__.py", "")
    write(tmp_path, "squad/predict_cli.py", "from ..evaluation.inference import read_checkpoint\nfrom . import task\n")
    write(tmp_path, "squad/task.py", "from ..errors import UserInputError\nfrom .criterion import WINDOWS_KEY\n")
    assert violations(tmp_path) == []
