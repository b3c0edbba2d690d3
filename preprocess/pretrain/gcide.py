"""The GNU Collaborative International Dictionary of English (GCIDE) as dictd serves it -> prose, one group of
paragraphs per headword.

dictd format (Debian's dict-gcide: gcide.dict.dz beside gcide.index): the .dict.dz is gzip-readable text; each line
of the .index is `key<TAB>offset<TAB>length` locating one entry body, the numbers in dictd's base64 (A-Z a-z 0-9 + /,
most significant digit first). The index lists a body under every key it defines (its headword, its run-on words,
the Latin names in it), so bodies are read once each, in file order, and grouped by the headword printed on their own
first line. Both passes stream the file; the first only learns where each headword's last entry is, so that a
headword whose entries are not adjacent still becomes one group.

Markup dropped: pronunciations `\\Te"di*ous\\ (...)` and other respellings, every `[...]` (source tags like
`[1913 Webster]`, etymologies, inflections, usage labels, WordNet sense numbers), the braces of cross-references, the
syllable marks (" * `) inside words, right-aligned and inline `--Author.` citations, sense numbers `1.` and `(a)`.
GCIDE's letter codes (`[e^]`, `['e]`, `[ae]`, `[alpha]`, ...) become the letters they stand for first, so they are not
taken for brackets.
"""
import gzip
import re
import string
import unicodedata

from preprocess.errors import fail

DIGITS = {c: i for i, c in enumerate(string.ascii_uppercase + string.ascii_lowercase + string.digits + "+/")}
SERVER_KEYS = "00-"  # 00-database-info and friends: the server's description and the licence preamble, not entries
CITATION_COLUMN = 30  # lines indented this far are right-aligned citations (`--Shak.`) or their wrapped tail

# [<mark><letter>] and [<letter><mark>]: accented letters. A caret after the letter is a breve, before it a circumflex.
_MARK_BEFORE = {"'": "\u0301", "`": "\u0300", "=": "\u0304", "-": "\u0304", '"': "\u0308", "~": "\u0303",
                ".": "\u0307", ",": "\u0327", "^": "\u0302"}
_MARK_AFTER = {"^": "\u0306"}
_NAMED_LETTERS = {"ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "eth": "ð", "thorn": "þ", "yogh": "ȝ", "ng": "ŋ",
                  "imac": "ī", "aum": "ä", "root": "√", "deg": "°", "sect": "§", "pounds": "£",
                  "times": "×", "middot": "·", "para": "¶"}

_LETTER_CODE = re.compile(r"\[([^\[\]\s]{1,8})\]")
# `\\Te"di*ous\\` (one line break allowed) and the respelling in parentheses after it; `(Zool.)` there is a label: kept
_PRONUNCIATION = re.compile(r"\\[^\\\n]*\n?[^\\\n]*\\(\s*\((?![^()]*\.\))[^()]*\))?")
# Other respellings in parentheses (`{Abbacies} (-s[i^]z)`): stress or syllable marks, breve/macron/dot letters.
_RESPELLING = re.compile(r"\((?=[^()]*(?:\w[*\"`]\w|\[[a-z]\^\]|\[[=.~-][a-z]\]|`\)))[^()]*\)|\(-[^()\s]*\)")
_INNERMOST_BRACKET = re.compile(r"\[[^\[\]]*\]")
_HEADLINE = re.compile(r"([^\s\\{\[(-][^\\\n]*?)\s*\\|(\w[\w'-]*)\s*$")
_SENSE = re.compile(r"(\d{1,2}\.|\([a-z]\))(\s+|$)")
_LABEL = re.compile(r"(Syn|Note):\s*")
# `--Shak.`, `--Gen. ix. 13.`, `-- Longfellow.`: runs of names, abbreviations and numbers after `--`, up to the end of
# the line or to the last period before the text goes on (`--Denham. In the case of ...`).
_CITED = r"(?:[A-Z][\w'?&-]*[.,]?|[a-z]+\.|\d+[.,:]?|&|of|and|the|\([^()]*\)[.,]?)"
_CITATION = re.compile(rf"\s*--(?:(?=[A-Z0-9])(?:{_CITED} +)*{_CITED}(?:\s*$|(?<=\.))| (?:{_CITED} +)*{_CITED}\.\s*$)")
_SYLLABLE_MARK = re.compile(r"(?<=\w)[\"*`](?=\w)")
_STRAY = re.compile(r"[{}\[\]]")  # braces of cross-references; brackets the source left unbalanced
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+(?=[,.;:)])")


def decode_number(text):
    """dictd's base64 number: 'A' = 0, 'BA' = 64."""
    value = 0
    for char in text:
        value = value * 64 + DIGITS[char]
    return value


def index_beside(dict_path):
    """dictd keeps the index beside the text: gcide.dict.dz -> gcide.index."""
    name = str(dict_path)
    for suffix in (".dz", ".dict"):
        name = name[:-len(suffix)] if name.endswith(suffix) else name
    return name + ".index"


def read_spans(index_path):
    """(offset, length) of every entry body in the .index, each once, in file order; the server's 00- entries
    left out."""
    spans, server = set(), set()
    with open(index_path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            try:
                key, offset, length = line.rstrip("\n").split("\t")
                span = decode_number(offset), decode_number(length)
            except (ValueError, KeyError):
                fail(index_path, f"line {number} is not `headword<TAB>offset<TAB>length`",
                     "pass the .index that came with the .dict.dz (Debian's dict-gcide)")
            (server if key.startswith(SERVER_KEYS) else spans).add(span)
    return sorted(spans - server)


def read_bodies(dict_path, spans):
    """The text of each span, read front to back (a gzip stream seeks forward by reading)."""
    with gzip.open(dict_path, "rb") as handle:
        for offset, length in spans:
            handle.seek(offset)
            raw = handle.read(length)
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:  # a few bodies carry Windows-1252 quotes
                yield raw.decode("cp1252", errors="replace")


def headword(body):
    """The headword on an entry's first line (`Tedious \\Te"di*ous\\, a.` -> Tedious), or None for a body that
    continues the previous entry (dictd splits a few long ones)."""
    match = _HEADLINE.match(body.split("\n", 1)[0])
    return match and (match.group(1) or match.group(2))


def _letter(match):
    code = match.group(1)
    if code in _NAMED_LETTERS:
        return _NAMED_LETTERS[code]
    if len(code) == 2 and code[0] in _MARK_BEFORE and code[1].isalpha():
        return unicodedata.normalize("NFC", code[1] + _MARK_BEFORE[code[0]])
    if len(code) == 2 and code[1] in _MARK_AFTER and code[0].isalpha():
        return unicodedata.normalize("NFC", code[0] + _MARK_AFTER[code[1]])
    case = "CAPITAL" if code[0].isupper() else "SMALL"
    try:
        return unicodedata.lookup(f"GREEK {case} LETTER {code.upper()}")
    except KeyError:
        return match.group(0)  # not a letter code: an ordinary bracket, dropped below


def _drop_brackets(text):
    """Remove every [...] (innermost first, so nested ones go too). One that fills its line ends the paragraph."""
    def drop(match):
        start, end = match.span()
        line_start = text.rfind("\n", 0, start) + 1
        line_end = text.find("\n", end)
        alone = not text[line_start:start].strip() and not text[end:None if line_end < 0 else line_end].strip()
        return "\n" if alone else ""

    while True:
        text, count = _INNERMOST_BRACKET.subn(drop, text)
        if not count:
            return text


def _clean(paragraph):
    text = _SYLLABLE_MARK.sub("", _STRAY.sub("", paragraph))
    text = _SPACE_BEFORE_PUNCTUATION.sub("", " ".join(text.split()))
    return text[:-3] if text.endswith(" --") else text  # a citation wrapped after its dashes: `trouble. --`


def entry_paragraphs(body, min_words):
    """Prose paragraphs of one entry body: each numbered sense, quotation, note and synonym list is a paragraph of its
    own; paragraphs under `min_words` are dropped. A heading too short to stand alone (the headline `Set, v. t.`, a
    phrase `To set aside.`) runs into the sense that follows it."""
    text = _drop_brackets(_PRONUNCIATION.sub("", _LETTER_CODE.sub(_letter, _RESPELLING.sub("", body))))
    paragraphs, block = [], []
    headline = headword(body) is not None  # no break nor sense number yet: the block is the headline
    after_break, content_column = False, 0

    def flush():
        paragraph = _clean(" ".join(block))
        if len(paragraph.split()) >= min_words:
            paragraphs.append(paragraph)
        block.clear()

    def runs_on(sense):
        if sense and headline:
            return True  # `Gravity, n.; pl. Gravities.` + `1. The state of having weight`
        if sense or after_break and headline:  # a short heading: `Good, a.`, `To set aside.`
            return len(_clean(" ".join(block)).split()) < min_words
        return False

    for line in text.split("\n"):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip(" "))
        if not stripped:
            after_break = True
            continue
        if indent >= CITATION_COLUMN:
            continue
        sense, label = _SENSE.match(stripped), _LABEL.match(stripped)
        quotation = indent >= content_column + 4  # deeper than the text it follows
        if block and (label or (sense or after_break or quotation) and not runs_on(sense)):
            flush()
        if sense or after_break:
            headline = after_break = False
        if sense:
            stripped = stripped[sense.end():]
        content_column = indent + (sense or label).end() if sense or label else indent
        block.append(_CITATION.sub("", stripped) if "--" in stripped else stripped)
    flush()
    return paragraphs


def _keyed(bodies):
    """(group key, headword as spelled, body): a body without a headline continues the previous entry (key kept,
    headword None); a fragment before the first headline has key None."""
    key = None
    for body in bodies:
        word = headword(body)
        if word is not None:
            word = _LETTER_CODE.sub(_letter, word)
            key = word.casefold()
        yield key, word, body


def headword_groups(dict_path, index_path, min_words):
    """(headword, paragraphs) per headword, all its entries together in file order, each body once.

    Headwords are grouped case-insensitively (WordNet's `do` joins Webster's `Do`) and named as first spelled.
    A group is yielded when its last entry has been read.
    """
    spans = read_spans(index_path)
    last_entry = {key: number for number, (key, _, _) in enumerate(_keyed(read_bodies(dict_path, spans)))}
    groups = {}
    for number, (key, word, body) in enumerate(_keyed(read_bodies(dict_path, spans))):
        if key is None:
            continue
        name, paragraphs = groups.setdefault(key, (word, []))
        paragraphs += entry_paragraphs(body, min_words)
        if last_entry[key] == number:
            del groups[key]
            yield name, paragraphs
