"""What the repository cites, a reader can open: papers, code repositories, or files in this repository; and the
module that maelm-export-hf copies into every export stands alone."""
import ast
import re
import subprocess

import pytest

from helpers import REPO

# Working notes that were never part of the repository: their names, or a bare "spec §N" pointing into them.
OUTSIDE_NOTES = re.compile(r"shared/(reference|DESIGN)|\b(maelm|3ml|[\w-]+)-spec(\.md)?\b|anchors\.md|DESIGN\.md"
                           r"|\bspec( \S+)? §|\bthe spec\b")
# what relative_position.py may import: the exported HF code loads it with torch alone
STANDALONE_IMPORTS = {"math", "typing", "torch"}


def tracked_files():
    try:
        listing = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [name for name in listing.decode().split("\0") if name]


def test_no_tracked_file_cites_notes_outside_the_repository():
    found = []
    for name in tracked_files():
        if name == "tests/test_citations.py":
            continue
        try:
            text = open(f"{REPO}/{name}", encoding="utf-8").read()
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):  # binary fixtures; deleted, not yet staged
            continue
        found += [f"{name}:{number}: {line.strip()}" for number, line in enumerate(text.splitlines(), 1)
                  if OUTSIDE_NOTES.search(line)]
    assert found == [], "cite the paper (arXiv id, section) or docs/design.md instead:\n" + "\n".join(found)


def test_the_pattern_finds_the_old_citations():
    for line in ("(shared/reference/3ml-spec.md §4)", "(spec §5.6)", "maelm-spec §18 counts", "(anchors.md §1.4)",
                 "(DESIGN.md, ...)", "written from the spec (fp32"):
        assert OUTSIDE_NOTES.search(line), line
    for line in ("aliases of the specials", "TORCH_SPEC=torch", "--sp-model FILE", "a spec file"):
        assert not OUTSIDE_NOTES.search(line), line


def test_relative_position_imports_only_torch():
    path = f"{REPO}/maelm_fairseq/modules/relative_position.py"
    tree = ast.parse(open(path, encoding="utf-8").read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"relative import in {path}: the HF export copies this file alone"
            imported.add(node.module.split(".")[0])
    assert imported and imported <= STANDALONE_IMPORTS, imported - STANDALONE_IMPORTS
