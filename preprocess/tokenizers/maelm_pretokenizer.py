"""The MAE-LM repository's pre-tokenizer (its SentencepieceBPE, fairseq/data/encoders/sentencepiece_bpe.py in
github.com/yumeng5/MAE-LM), applied to text before its sentencepiece model.

Rules, in order:
1. strip the line; "``" and "''" become '"'; then ‘ ’ ´ become ', “ ” become ", — – become -;
2. split on whitespace;
3. a token longer than one character that starts or ends with punctuation loses its leading and trailing
   punctuation runs as separate tokens (a token of punctuation only stays whole). Punctuation: ASCII printable
   characters that are neither letters nor digits, and every Unicode category P* character;
4. English clitics are joined back: a token ending in ' followed by a token that starts with s m d t (either
   case) and then a word boundary, or with ll re ve, or with LL RE VE (the repository then puts a space after the
   upper-case ones, which splits off whatever followed them in the token).
The tokens are joined with single spaces. Each output character remembers the span of the input it came from,
so SQuAD answers can be located in the original text.
"""
import re
import unicodedata
from dataclasses import dataclass
from typing import List, Tuple

QUOTES_AND_DASHES = str.maketrans("‘’´“”—–", "'''\"\"--")
DOUBLED_QUOTES = ("``", "''")
CLITICS = (re.compile(r"[smdSMDtT]\b"), re.compile(r"(ll|re|ve)\b"), re.compile(r"(LL|RE|VE)\b"))
SPLITS_REST = CLITICS[2]  # what follows an upper-case clitic in its token becomes a token of its own


def is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


@dataclass
class Token:
    text: str
    spans: List[Tuple[int, int]]  # per character: (start, end) of the input characters it came from

    def __getitem__(self, index: slice) -> "Token":
        return Token(self.text[index], self.spans[index])

    def __add__(self, other: "Token") -> "Token":
        return Token(self.text + other.text, self.spans + other.spans)


def normalized_tokens(line: str) -> List[Token]:
    """Rules 1-2: stripped, quotes and dashes mapped, split on whitespace."""
    end = len(line.rstrip())
    i = len(line) - len(line.lstrip()) if end else end
    tokens, current = [], None
    while i < end:
        if line[i:i + 2] in DOUBLED_QUOTES:
            char, span = '"', (i, i + 2)
        else:
            char, span = line[i].translate(QUOTES_AND_DASHES), (i, i + 1)
        if char.isspace():
            current = None
        else:
            if current is None:
                current = Token("", [])
                tokens.append(current)
            current.text += char
            current.spans.append(span)
        i = span[1]
    return tokens


def split_punctuation(token: Token) -> List[Token]:
    """Rule 3."""
    text = token.text
    if len(text) < 2 or not (is_punctuation(text[0]) or is_punctuation(text[-1])):
        return [token]
    lead = 0
    while lead < len(text) and is_punctuation(text[lead]):
        lead += 1
    if lead == len(text):
        return [token]  # punctuation only
    trail = 0
    while is_punctuation(text[len(text) - 1 - trail]):  # stops at text[lead] at the latest
        trail += 1
    parts = [token[:lead], token[lead:len(text) - trail], token[len(text) - trail:]]
    return [part for part in parts if part.text]


def join_clitics(tokens: List[Token]) -> List[Token]:
    """Rule 4."""
    out = []
    for token in tokens:
        after_quote = out and out[-1].text.endswith("'")
        clitic = next((m for m in (p.match(token.text) for p in CLITICS) if m), None) if after_quote else None
        if clitic is None:
            out.append(token)
            continue
        joined = clitic.end() if clitic.re is SPLITS_REST else len(token.text)
        out[-1] = out[-1] + token[:joined]
        if joined < len(token.text):
            out.append(token[joined:])
    return out


def pretokenize_tokens(line: str) -> List[Token]:
    tokens = [part for token in normalized_tokens(line) for part in split_punctuation(token)]
    return join_clitics(tokens)


def pretokenize(line: str) -> str:
    return " ".join(token.text for token in pretokenize_tokens(line))
