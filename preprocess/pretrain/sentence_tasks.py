#!/usr/bin/env python
"""Fine-tuning tasks built from a build_corpus.py corpus, binarized for fairseq's `sentence_prediction` task.

    python preprocess/pretrain/sentence_tasks.py CORPUS_DIR DATA_BIN OUT_DIR --task {word-order,topic} \
        [--max-train N] [--max-valid N] [--min-sentences N] [--seed 1]

CORPUS_DIR holds train.txt, valid.txt and documents.tsv (build_corpus.py); DATA_BIN is the pretraining data-bin of
prepare_corpus.py, whose tokenizer and dict.txt encode the sentences. Train examples come from the train documents,
valid examples from the valid documents (text the pretraining never saw). Sentences have 6 to 50 words.

    word-order  is this sentence as written (0) or were two adjacent, different words swapped (1)? Half of the
                sentences, exactly, are changed. Neither the first nor the last word moves, so an out-of-place capital
                letter or full stop does not give the answer away; a bag of words cannot tell the classes apart.
    topic       which topic (documents.tsv) is the sentence's document from? The K <= 4 largest topics with at least
                --min-sentences sentences in each split, balanced by downsampling; labels are the topic names.

Output (fairseq-train OUT_DIR --task sentence_prediction --num-classes K --init-token 0 --separator-token 2 ...):
    OUT_DIR/input0/{dict.txt,train,valid}.{bin,idx}   sentences, with DATA_BIN's dict.txt
    OUT_DIR/label/{dict.txt,train,valid}.{bin,idx}    labels, dict built from the train labels
    OUT_DIR/raw/{train,valid}.{input0,label}          the same as text, one example per line
"""
import argparse
import os
import random
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path


from maelm_fairseq.errors import console_main
from preprocess.errors import fail
from preprocess.pretrain.build_corpus import read_documents_table

TASKS = ("word-order", "topic")
SPLITS = ("train", "valid")
MIN_WORDS, MAX_WORDS = 6, 50
MAX_TOPICS = 4
DEFAULT_MIN_SENTENCES = 50


def read_corpus(corpus_dir):
    """{split: [(name, topic, [paragraph, ...]), ...]} with topics from documents.tsv, in file order."""
    corpus_dir = Path(corpus_dir)
    table = read_documents_table(corpus_dir)
    corpus = {}
    for split in SPLITS:
        path = corpus_dir / f"{split}.txt"
        if not path.is_file():
            fail(path, "missing", "pass a directory written by preprocess/pretrain/build_corpus.py")
        blocks = [block.split("\n") for block in path.read_text(encoding="utf-8").strip("\n").split("\n\n") if block]
        rows = [row for row in table if row["split"] == split]
        if len(blocks) != len(rows):
            fail(path, f"{len(blocks)} documents but documents.tsv lists {len(rows)} for {split}",
                 "rebuild the corpus with build_corpus.py")
        corpus[split] = [(row["name"], row["topic"], block) for row, block in zip(rows, blocks)]
    return corpus


def task_sentences(paragraphs):
    """Sentences of 6 to 50 words, whitespace normalised (the demo corpus's sentence splitter)."""
    from maelm_fairseq.data.demo_corpus import sentences

    found = (" ".join(s.split()) for p in paragraphs for s in sentences(p))
    return [s for s in found if MIN_WORDS <= len(s.split()) <= MAX_WORDS]


def _unique(items):
    return list(dict.fromkeys(items))


def _even_cap(n, cap, classes):
    """Largest count <= n (and <= cap) that divides evenly among `classes`."""
    if cap is not None:
        n = min(n, cap)
    return n - n % classes


def _swap_positions(words):
    """i such that words i and i+1 differ and neither is the first or the last word."""
    return [i for i in range(1, len(words) - 2) if words[i] != words[i + 1]]


def swap_adjacent(sentence, rng):
    """The sentence with two adjacent, different, inner words swapped (never the first or the last word)."""
    words = sentence.split()
    i = rng.choice(_swap_positions(words))
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def word_order_examples(sentences, seed, split, cap=None):
    """[(sentence, "0"|"1"), ...]: each sentence once, exactly half of them with one adjacent swap (label 1)."""
    rng = random.Random(f"word-order:{seed}:{split}")
    pool = [s for s in _unique(sentences) if _swap_positions(s.split())]
    rng.shuffle(pool)
    pool = pool[:_even_cap(len(pool), cap, 2)]
    half = len(pool) // 2
    rows = [(swap_adjacent(s, rng), "1") for s in pool[:half]] + [(s, "0") for s in pool[half:]]
    rng.shuffle(rows)
    return rows


def topic_sentences(documents):
    """{topic: [sentence, ...]}; a sentence found under two topics is dropped, repeats are kept once."""
    by_topic, owner = {}, {}
    for _, topic, paragraphs in documents:
        for sentence in task_sentences(paragraphs):
            owner.setdefault(sentence, set()).add(topic)
            by_topic.setdefault(topic, []).append(sentence)
    return {topic: _unique(s for s in found if len(owner[s]) == 1) for topic, found in by_topic.items()}


def choose_topics(per_split, min_sentences, where):
    """The K <= 4 topics with the most sentences among those with >= min_sentences in every split."""
    counts = {t: [len(per_split[split].get(t, ())) for split in SPLITS] for t in per_split["train"]}
    qualified = [t for t, c in counts.items() if min(c) >= min_sentences]
    chosen = sorted(qualified, key=lambda t: (-sum(counts[t]), t))[:MAX_TOPICS]
    if len(chosen) < 2:
        sizes = ", ".join(f"{t} {c[0]}/{c[1]}" for t, c in sorted(counts.items(), key=lambda x: -sum(x[1]))[:6])
        fail(where, f"only {len(chosen)} topic(s) have >= {min_sentences} sentences in both train and valid "
             f"(largest, train/valid: {sizes or 'none'})",
             "use a corpus with more topics or documents, a larger --valid-fraction, or a smaller --min-sentences")
    return sorted(chosen)


def topic_examples(by_topic, topics, seed, split, cap=None):
    """[(sentence, topic), ...] with the same number of sentences for every topic."""
    rng = random.Random(f"topic:{seed}:{split}")
    per_class = _even_cap(min(len(by_topic[t]) for t in topics) * len(topics), cap, len(topics)) // len(topics)
    rows = [(s, t.replace(" ", "_")) for t in topics for s in rng.sample(by_topic[t], per_class)]
    rng.shuffle(rows)
    return rows


def build_examples(corpus, task, seed=1, caps=None, min_sentences=DEFAULT_MIN_SENTENCES, where="corpus"):
    """{split: [(sentence, label), ...]} for `task` from read_corpus()'s output."""
    caps = caps or {}
    if task == "word-order":
        return {split: word_order_examples([s for _, _, p in corpus[split] for s in task_sentences(p)],
                                           seed, split, caps.get(split)) for split in SPLITS}
    if task == "topic":
        per_split = {split: topic_sentences(corpus[split]) for split in SPLITS}
        topics = choose_topics(per_split, min_sentences, where)
        return {split: topic_examples(per_split[split], topics, seed, split, caps.get(split)) for split in SPLITS}
    raise ValueError(f"unknown task {task!r}; use one of {TASKS}")


def write_raw(raw_dir, examples):
    """raw_dir/{split}.input0 and {split}.label, one example per line."""
    os.makedirs(raw_dir, exist_ok=True)
    for split, rows in examples.items():
        with open(os.path.join(raw_dir, f"{split}.input0"), "w", encoding="utf-8") as text, \
                open(os.path.join(raw_dir, f"{split}.label"), "w", encoding="utf-8") as labels:
            for sentence, label in rows:
                text.write(sentence + "\n")
                labels.write(label + "\n")


def binarize_sentence_task(raw_dir, data_bin, out_dir, workers=1):
    """Encode raw_dir/{train,valid}.input0 with DATA_BIN's tokenizer, binarize them with its dict.txt, and binarize
    raw_dir/{train,valid}.label with a dict of the train labels: out_dir/input0/ and out_dir/label/."""
    from preprocess.binarize import run_fairseq_preprocess
    from preprocess.tokenizers import load_tokenizer

    srcdict = Path(data_bin, "dict.txt")
    if not srcdict.is_file():
        fail(srcdict, "no dict.txt", "pass the data-bin written by preprocess/pretrain/prepare_corpus.py")
    tokenizer = load_tokenizer(data_bin)
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".encoded-") as encoded:
        for split in SPLITS:
            with open(os.path.join(raw_dir, f"{split}.input0"), encoding="utf-8") as src, \
                    open(os.path.join(encoded, f"{split}.input0"), "w", encoding="utf-8") as out:
                out.writelines(tokenizer.encode(line.strip()) + "\n" for line in src)
        destination = os.path.join(out_dir, "input0")
        shutil.rmtree(destination, ignore_errors=True)
        run_fairseq_preprocess(destination, os.path.join(encoded, "train.input0"),
                               [os.path.join(encoded, "valid.input0")], workers, srcdict=srcdict)
    destination = os.path.join(out_dir, "label")
    shutil.rmtree(destination, ignore_errors=True)
    run_fairseq_preprocess(destination, os.path.join(raw_dir, "train.label"), [os.path.join(raw_dir, "valid.label")],
                           workers)


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus_dir", metavar="CORPUS_DIR",
                        help="train.txt, valid.txt and documents.tsv written by build_corpus.py")
    parser.add_argument("data_bin", metavar="DATA_BIN", help="pretraining data-bin (dict.txt + tokenizer.json)")
    parser.add_argument("out_dir", metavar="OUT_DIR")
    parser.add_argument("--task", choices=TASKS, required=True)
    parser.add_argument("--max-train", type=int, metavar="N", help="at most N train examples (classes stay balanced)")
    parser.add_argument("--max-valid", type=int, metavar="N", help="at most N valid examples (classes stay balanced)")
    parser.add_argument("--min-sentences", type=int, default=DEFAULT_MIN_SENTENCES, metavar="N",
                        help=f"topic: a topic needs N sentences in each split (default {DEFAULT_MIN_SENTENCES})")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="fairseq-preprocess workers")
    return parser


@console_main
def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    for flag in ("max_train", "max_valid"):
        if getattr(args, flag) is not None and getattr(args, flag) < 2:
            parser.error(f"--{flag.replace('_', '-')} must be at least 2")
    corpus = read_corpus(args.corpus_dir)
    examples = build_examples(corpus, args.task, args.seed, {"train": args.max_train, "valid": args.max_valid},
                              args.min_sentences, where=args.corpus_dir)
    for split in SPLITS:
        if not examples[split]:
            fail(Path(args.corpus_dir, f"{split}.txt"), f"no {split} example for --task {args.task}",
                 "use a corpus with more sentences of 6 to 50 words")
    raw_dir = os.path.join(args.out_dir, "raw")
    write_raw(raw_dir, examples)
    binarize_sentence_task(raw_dir, args.data_bin, args.out_dir, workers=args.workers)
    classes = sorted({label for rows in examples.values() for _, label in rows})
    print(f"summary: {args.out_dir} task={args.task} classes={len(classes)} (--num-classes {len(classes)})")
    for split in SPLITS:
        counts = Counter(label for _, label in examples[split])
        print(f"  {split:5s} {len(examples[split])} examples: " + ", ".join(f"{c} {counts[c]}" for c in classes))


if __name__ == "__main__":
    sys.exit(main())
