"""preprocess/pretrain/gcide.py (GCIDE in dictd format -> prose per headword) and build_corpus.py --gcide, on a tiny
dictd pair written here: the licence preamble, a headword with two entries apart, an entry listed under three keys."""
import gzip
import string

import pytest

from preprocess.pretrain import build_corpus, gcide
from preprocess.pretrain.build_corpus import read_documents_table

PREAMBLE = """\
00-database-info
   This file was converted from the original database.

   The original data carries the licence notice of the GNU
   Collaborative International Dictionary of English.
"""
GOOD_ADJECTIVE = """\
Good \\Good\\, a. [Compar. {Better}; superl. {Best}.] [AS.
   g[=o]d.]
   [1913 Webster]
   1. Possessing desirable qualities; adapted to answer the end
      designed; serviceable; useful.
      [1913 Webster]

            And God saw everything that he had made, and
            behold, it was very good.             --Gen. i.
                                                  31.
      [1913 Webster]

   2. Kind; benevolent; humane; -- said of persons.
      [1913 Webster]

   {Good breeding}, polite manners, formed by education.
      [1913 Webster]
"""
TEDIOUS = """\
Tedious \\Te"di*ous\\, a. [L. taediosus, fr. taedium. See
   {Tedium}.]
   Involving tedium; tiresome from continuance, prolixity,
   slowness, or the like; wearisome. -- {Te"di*ous*ly}, adv. --
   {Te"di*ous*ness}, n.
   [1913 Webster]

         I see a man's life is a tedious one.     --Shak.
   [1913 Webster]

   Syn: Wearisome; fatiguing. See {Irksome}.
        [1913 Webster]
"""
GOOD_NOUN = """\
Good \\Good\\ (g[oo^]d), n.
   1. Advancement of interest or happiness; welfare; --
      opposed to {harm}. [Obs.] --Bacon.
      [1913 Webster]
   2. pl. Wares; commodities; as, a shop of caf['e] goods.
      [1913 Webster]
"""
EXPECTED = [
    ("Tedious", ["Tedious, a. Involving tedium; tiresome from continuance, prolixity, slowness, or the like; "
                 "wearisome. -- Tediously, adv. -- Tediousness, n.",
                 "I see a man's life is a tedious one.",
                 "Syn: Wearisome; fatiguing. See Irksome."]),
    ("Good", ["Good, a. Possessing desirable qualities; adapted to answer the end designed; serviceable; useful.",
              "And God saw everything that he had made, and behold, it was very good.",
              "Kind; benevolent; humane; -- said of persons.",
              "Good breeding, polite manners, formed by education.",
              "Good, n. Advancement of interest or happiness; welfare; -- opposed to harm.",
              "pl. Wares; commodities; as, a shop of café goods."]),
]


def encode_number(value):
    """dictd's base64, the inverse of gcide.decode_number."""
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/"
    digits = ""
    while True:
        value, digit = divmod(value, 64)
        digits = alphabet[digit] + digits
        if not value:
            return digits


@pytest.fixture
def dictd(tmp_path):
    """gcide.dict.dz + gcide.index: Good's two entries lie apart (Tedious between them); Tedious is also listed
    under its run-on words, and the preamble under two server keys."""
    bodies, spans, offset = [PREAMBLE, GOOD_ADJECTIVE, TEDIOUS, GOOD_NOUN], [], 0
    for body in bodies:
        spans.append(f"{encode_number(offset)}\t{encode_number(len(body))}")
        offset += len(body) + 1  # a blank line between entries, as dictfmt writes them
    keys = [("00-database-info", 0), ("00-gcide-info", 0), ("Better", 1), ("Good", 1), ("Good", 3), ("Tedious", 2),
            ("Tediously", 2), ("Tediousness", 2)]
    dict_path = tmp_path / "gcide.dict.dz"
    dict_path.write_bytes(gzip.compress("\n".join(bodies).encode("utf-8")))
    (tmp_path / "gcide.index").write_text("".join(f"{key}\t{spans[entry]}\n" for key, entry in keys))
    return dict_path


def test_dictd_numbers_are_base64_most_significant_first():
    assert gcide.decode_number("A") == 0 and gcide.decode_number("BA") == 64
    assert gcide.decode_number("5I") == 3656 and gcide.decode_number("Fz") == 371  # a line of Debian's gcide.index
    assert all(gcide.decode_number(encode_number(n)) == n for n in (0, 63, 64, 4095, 40_000_000))


def test_one_document_per_headword_with_each_entry_once_and_markup_gone(dictd):
    assert gcide.index_beside(dictd) == str(dictd.parent / "gcide.index")
    docs = list(build_corpus.gcide_documents(dictd))
    assert [(d.name, d.topic, d.source) for d in docs] == [("gcide/Tedious", "gcide", "gcide"),
                                                            ("gcide/Good", "gcide", "gcide")]
    assert [(d.name.split("/")[1], d.paragraphs) for d in docs] == EXPECTED


def test_cli_writes_the_gcide_documents(dictd, tmp_path, capsys):
    out = tmp_path / "corpus"
    assert build_corpus.main([str(out), "--gcide", str(dictd), "--valid-fraction", "0"]) == 0
    documents = (out / "train.txt").read_text().strip("\n").split("\n\n")
    assert documents == ["\n".join(paragraphs) for _, paragraphs in EXPECTED]
    rows = read_documents_table(out)
    assert [(row["name"], row["topic"]) for row in rows] == [("gcide/Tedious", "gcide"), ("gcide/Good", "gcide")]
    assert "  gcide: 2 documents, " in capsys.readouterr().out


def test_missing_dictionary_is_one_error_line_and_exit_2(tmp_path, capsys):
    assert build_corpus.build_parser().parse_args(["out", "--gcide"]).gcide == build_corpus.GCIDE_DICT
    missing = tmp_path / "gcide.dict.dz"
    assert build_corpus.main([str(tmp_path / "out"), "--gcide", str(missing)]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"error: --gcide: {missing} not found")
    assert "apt-get install dict-gcide" in error and "root" in error
    missing.write_bytes(gzip.compress(b""))  # the text without its index
    assert build_corpus.main([str(tmp_path / "out"), "--gcide", str(missing)]) == 2
    assert f"{tmp_path / 'gcide.index'} not found" in capsys.readouterr().err
