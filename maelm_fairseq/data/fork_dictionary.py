"""dict.txt files written by the MAE-LM repository, read with that repository's semantics.

The repository (a fork of fairseq) writes two kinds of dict.txt, and fairseq 0.12.2's `Dictionary.load` fails on or
misreads both:

- `preprocess/pretrain/get_vocab.py` output (its `--srcdict`): every sentencepiece piece in id order, ONE PIECE PER
  LINE, NO COUNTS, including pieces that alias fairseq's specials (`<unk>`, `<s>`, `</s>`, often `[CLS]`, `[SEP]`,
  `[PAD]`, `[UNK]`) and maybe a `[MASK]` piece. Its Dictionary gives such a line a decreasing synthetic count,
  skips a piece that aliases one of the four specials (they keep ids 0-3), keeps every other piece in order, and
  `add_symbol("<mask>")` finds a `[MASK]` (or `<mask>`) piece at its rank, so it becomes the mask index; without one,
  `<mask>` is appended last.
- the dict.txt that its fairseq-preprocess writes into a data-bin (GLUE and SQuAD bins too): the same dictionary
  saved with counts, so the mask piece, if any, is a `[MASK] <count>` line.

Files are told apart by their lines (no flag): counts on every line is fairseq's format, read by fairseq's own loader;
one piece and no count on every line is the repository's. In both, the repository's alias names are looked up as it
looks them up (`[CLS]` is `<s>`, ..., a `[MASK]` symbol answers to `<mask>`), so V, the mask index and every id are
the repository's (its fairseq/data/dictionary.py, github.com/yumeng5/MAE-LM). Anything else is one UserInputError
line naming the file and line.

`Dictionary.add_from_file` is wrapped with these functions by maelm_fairseq/fairseq_fixes.py, so every task that
loads a dict.txt reads both formats. This module imports neither torch nor fairseq (prepare_corpus writes the format).
"""
from ..errors import UserInputError

# The repository's Dictionary stores its four specials under these names; a piece spelled either way is skipped.
SPECIAL_ALIASES = {"[CLS]": "<s>", "[PAD]": "<pad>", "[SEP]": "</s>", "[UNK]": "<unk>"}
MASK_NAMES = ("<mask>", "[MASK]")
FAIRSEQ_OVERWRITE_FLAG = "#fairseq:overwrite"
REGENERATE = ("regenerate it with fairseq-preprocess, or with the MAE-LM repository's preprocess/pretrain/"
              "get_vocab.py from its sentencepiece model")


def write_repository_dict(path, pieces):
    """The repository's get_vocab.py format: one piece per line, in id order, no counts."""
    with open(path, "w", encoding="utf-8") as out:
        out.writelines(piece + "\n" for piece in pieces)


def line_kind(line):
    """'counted' (`<token> <count> [#fairseq:overwrite]`), 'piece' (one token, no count) or None (neither)."""
    text = line.rstrip()
    if not text:
        return None
    if " " not in text:
        return "piece"
    token, field = text.rsplit(" ", 1)
    if field == FAIRSEQ_OVERWRITE_FLAG and " " in token:
        token, field = token.rsplit(" ", 1)
    try:
        int(field)
    except ValueError:
        return None
    return "counted"


def detect_format(lines, name):
    """'fairseq' or 'repository' for the entry lines of a dict.txt; UserInputError naming the first line that fits
    neither format, or that breaks the format of the first line."""
    kinds = [line_kind(line) for line in lines]
    for number, kind in enumerate(kinds):
        if kind is None or kind != kinds[0]:
            why = ("is neither `<token> <count>` nor one piece without a count" if kind is None else
                   f"has {'a count' if kind == 'counted' else 'no count'} but line 1 has "
                   f"{'one' if kinds[0] == 'counted' else 'none'}")
            raise UserInputError(
                f"{name}: line {number + 1} ({lines[number].rstrip()[:60]!r}) {why}; a dict.txt is either fairseq's "
                f"(`<token> <count>` on every line) or the MAE-LM repository's (one sentencepiece piece per line, no "
                f"counts): {REGENERATE}")
    return "repository" if kinds and kinds[0] == "piece" else "fairseq"


def add_repository_pieces(dictionary, pieces):
    """The repository's loading of count-less lines: synthetic decreasing counts, aliases of the four specials
    skipped, the first `[MASK]`/`<mask>` piece kept at its rank, any repeated piece skipped."""
    skipped = []
    for rank, line in enumerate(pieces):
        piece = line.rstrip()
        is_second_mask = piece in MASK_NAMES and any(name in dictionary.indices for name in MASK_NAMES)
        if piece in SPECIAL_ALIASES or piece in dictionary or is_second_mask:  # `<s>` etc. are in the dictionary
            skipped.append(piece)
            continue
        dictionary.add_symbol(piece, n=len(pieces) - rank)
    return skipped


def add_aliases(dictionary):
    """The repository's alias lookups: [CLS] [PAD] [SEP] [UNK] find the four specials (unless they are symbols
    themselves), and a `[MASK]` symbol answers to `<mask>` (and the other way round), so add_symbol("<mask>")
    returns it. Aliases are extra keys of `indices` only: the symbols, their ids and what `save` writes stay."""
    for alias, special in SPECIAL_ALIASES.items():
        if special in dictionary.indices:
            dictionary.indices.setdefault(alias, dictionary.indices[special])
    present = [name for name in MASK_NAMES if name in dictionary.indices]
    if len(present) == 1:
        other = MASK_NAMES[1 - MASK_NAMES.index(present[0])]
        dictionary.indices[other] = dictionary.indices[present[0]]
