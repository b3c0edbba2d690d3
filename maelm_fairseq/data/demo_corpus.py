"""A small real-English corpus that ships with every Python: the prose of the language reference (pydoc topics).

The tests' corpus, and the language-reference part of `preprocess/pretrain/build_corpus.py --python`, so neither
needs a download. Each help topic is one document; each prose paragraph is one line (code samples, grammar rules
and headings are dropped). Also the tests' sentence-pair classification task from the same text: are two
consecutive sentences from a topic about Python's data model (label 1) or about its statements and expressions
(label 0)? And the word-level form of its lines, for data-bins without a subword tokenizer.

    python -m maelm_fairseq.data.demo_corpus OUT_DIR      # writes OUT_DIR/{train,valid}.txt
"""
import argparse
import os
import random
import re

from pydoc_data.topics import topics

_HEADING_UNDERLINE = re.compile(r"^[*=\-~^]{3,}$")
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)][.!?])\s+(?=[A-Z])")
_WORD_OR_MARK = re.compile(r"\w+|[^\w\s]")


def _is_prose(paragraph: str) -> bool:
    words = paragraph.split()
    letters = sum(ch.isalpha() for ch in paragraph)
    return len(words) >= 6 and letters > 0.7 * len(paragraph.replace(" ", ""))


def documents():
    """[(topic, [paragraph, ...]), ...] in a fixed order."""
    docs = []
    for topic in sorted(topics):
        paragraphs = []
        for block in re.split(r"\n\s*\n", topics[topic]):
            lines = block.split("\n")
            if lines[0].startswith("   ") or any(_HEADING_UNDERLINE.match(line.strip()) for line in lines):
                continue  # code sample, grammar rule or heading
            text = " ".join(line.strip() for line in lines).lstrip("* ").strip()
            text = re.sub(r"\s+", " ", text)
            if _is_prose(text):
                paragraphs.append(text)
        if paragraphs:
            docs.append((topic, paragraphs))
    return docs


def sentences(paragraph: str):
    return [s for s in _SENTENCE_END.split(paragraph) if len(s.split()) >= 4]


def write_pretraining_corpus(out_dir: str, valid_every: int = 10):
    """One paragraph per line, a blank line between documents; every `valid_every`-th topic goes to valid."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "train.txt"), "w") as train, open(os.path.join(out_dir, "valid.txt"), "w") as valid:
        for i, (_, paragraphs) in enumerate(documents()):
            out = valid if i % valid_every == valid_every - 1 else train
            out.write("\n".join(paragraphs) + "\n\n")


# Topics of the language reference about the data model (types, special methods, built-in objects).
DATA_MODEL_TOPICS = {"objects", "numeric-types", "sequence-types", "dict", "lists", "strings", "string-methods",
                     "integers", "floating", "booleans", "imaginary", "numbers", "truth", "attribute-access"}


def is_data_model(topic: str) -> bool:
    return topic.startswith(("types", "bltin-", "special")) or topic in DATA_MODEL_TOPICS


def topic_pairs(seed: int = 1):
    """Balanced (sentence_a, sentence_b, label) triples: two consecutive sentences of one help topic, label 1 when
    the topic is about the data model, 0 when it is about statements or expressions. (A "does B follow A" task
    stayed at chance for the tiny models; this one is learnable within a few hundred updates.)"""
    by_label = {0: [], 1: []}
    for topic, paragraphs in documents():
        text = [s for p in paragraphs for s in sentences(p)]
        by_label[int(is_data_model(topic))] += list(zip(text, text[1:]))
    rng = random.Random(seed)
    n = min(len(pairs) for pairs in by_label.values())
    rows = [(a, b, label) for label, pairs in by_label.items() for a, b in rng.sample(pairs, n)]
    rng.shuffle(rows)
    return rows


def word_tokens(line: str) -> str:
    """The word-level form of a line that the tests and benchmarks binarize: lower-cased words and punctuation
    marks, space-separated (no subword tokenizer, so a data-bin builds in seconds)."""
    return " ".join(_WORD_OR_MARK.findall(line.lower()))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    args = parser.parse_args()
    write_pretraining_corpus(args.out_dir)
    print(f"wrote {args.out_dir}/train.txt and valid.txt")


if __name__ == "__main__":
    main()
