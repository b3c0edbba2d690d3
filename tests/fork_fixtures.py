"""Data-bins laid out as the MAE-LM repository's scripts leave them, for the dictionary and import tests.

dict.txt is get_vocab.py's output: every sentencepiece piece in id order, no counts, with the pieces sentencepiece
and the repository add that alias fairseq's specials, and (optionally) a [MASK] piece. The .bin/.idx files hold the
ids the repository's Dictionary gives (the rules of its fairseq/data/dictionary.py, computed here by
`repository_ids`), written with fairseq's mmap builder as its fairseq-preprocess writes them.
"""
import numpy as np
import torch
from fairseq.data import indexed_dataset

WORDS = [f"▁w{i}" for i in range(40)] + [",", ".", "s", "ing"]


def repository_pieces(with_mask):
    """A sentencepiece vocabulary in id order: sp's <unk> <s> </s>, then user symbols, then pieces."""
    pieces = ["<unk>", "<s>", "</s>", "[CLS]", "[SEP]", "[PAD]", "[UNK]"] + (["[MASK]"] if with_mask else [])
    return pieces + WORDS[:20] + ["<pad>"] + WORDS[20:]  # an alias piece in the middle too


def repository_ids(pieces):
    """The repository's Dictionary rules, written out: the four specials 0-3; a piece spelled like one of them or like
    [CLS] [PAD] [SEP] [UNK] is skipped; the others take the next ids in order; [MASK] is the mask where it is a piece,
    else <mask> comes last. Returns (piece -> id for the kept pieces, V, mask id)."""
    aliases = {"<s>", "<pad>", "</s>", "<unk>", "[CLS]", "[PAD]", "[SEP]", "[UNK]"}
    kept = [piece for piece in pieces if piece not in aliases]
    ids = {piece: 4 + rank for rank, piece in enumerate(kept)}
    if "[MASK]" in ids:
        return ids, 4 + len(kept), ids["[MASK]"]
    return ids, 5 + len(kept), 4 + len(kept)


def write_pieces_dict(path, pieces):
    path.write_text("".join(piece + "\n" for piece in pieces))


def write_split(prefix, lines, vocab_size):
    builder = indexed_dataset.make_builder(f"{prefix}.bin", impl="mmap", vocab_size=vocab_size)
    for line in lines:
        builder.add_item(torch.IntTensor(line))
    builder.finalize(f"{prefix}.idx")


def random_documents(ids, n_lines, seed):
    """Lines of word ids (each ending with </s> = 2), documents separated by a blank line (a lone </s>); each next
    word depends on the previous one, so a model has something to learn."""
    rng = np.random.default_rng(seed)
    words = [ids[w] for w in WORDS]
    lines = []
    for n in range(n_lines):
        if n and n % 6 == 0:
            lines.append([2])
        word = int(rng.integers(len(words)))
        line = []
        for _ in range(int(rng.integers(5, 14))):
            line.append(words[word])
            word = (word * 7 + int(rng.integers(3))) % len(words)
        lines.append(line + [2])
    return lines


def write_repository_data_bin(directory, with_mask, n_lines=120, seed=0):
    """dict.txt without counts + train/valid splits; returns (piece -> id, V, mask id)."""
    directory.mkdir(parents=True, exist_ok=True)
    pieces = repository_pieces(with_mask)
    ids, vocab, mask = repository_ids(pieces)
    write_pieces_dict(directory / "dict.txt", pieces)
    for split, count, offset in (("train", n_lines, 0), ("valid", n_lines // 4, 1)):
        write_split(directory / split, random_documents(ids, count, seed + offset), vocab)
    return ids, vocab, mask


def write_repository_pair_bin(directory, with_mask, n_rows=64, seed=0):
    """A GLUE-layout pair task (input0/, input1/ with the repository's dict.txt, label/ with fairseq's): label 1
    when the second sentence starts with the first one's last word."""
    rng = np.random.default_rng(seed)
    pieces = repository_pieces(with_mask)
    ids, vocab, _ = repository_ids(pieces)
    words = [ids[w] for w in WORDS[:40]]
    rows = {"train": [], "valid": []}
    for n in range(n_rows):
        first = [int(w) for w in rng.choice(words, size=int(rng.integers(3, 8)))]
        label = n % 2
        second = [first[-1] if label else words[(words.index(first[-1]) + 1) % len(words)]]
        second += [int(w) for w in rng.choice(words, size=3)]
        rows["valid" if n % 4 == 0 else "train"].append((first + [2], second + [2], label))
    for column in ("input0", "input1"):
        (directory / column).mkdir(parents=True, exist_ok=True)
        write_pieces_dict(directory / column / "dict.txt", pieces)
    (directory / "label").mkdir(parents=True, exist_ok=True)
    (directory / "label" / "dict.txt").write_text("0 100\n1 100\n")
    for split, split_rows in rows.items():
        write_split(directory / "input0" / split, [r[0] for r in split_rows], vocab)
        write_split(directory / "input1" / split, [r[1] for r in split_rows], vocab)
        write_split(directory / "label" / split, [[4 + r[2], 2] for r in split_rows], 6)
    return ids, vocab
