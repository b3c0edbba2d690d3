"""Moses tokenization (sacremoses) followed by fastBPE codes, as XLM-style pipelines do (codes: fastbpe_codes.py)."""
import fastBPE
from sacremoses import MosesTokenizer


class MosesWords:
    """Moses word tokenization, optionally lowercased."""

    def __init__(self, lowercase):
        self.moses = MosesTokenizer(lang="en")
        self.lowercase = lowercase

    def tokenize(self, line):
        # escape=False keeps '&', '<', '"' as themselves so decoded text stays readable.
        tokens = self.moses.tokenize(line, escape=False, return_str=True)
        return tokens.lower() if self.lowercase else tokens


class FastBpeTokenizer:
    kind = "fastbpe"

    def __init__(self, codes_path, lowercase=False):
        self.words = MosesWords(lowercase)
        self.bpe = fastBPE.fastBPE(str(codes_path))

    def encode(self, line):
        tokens = self.words.tokenize(line)
        return self.bpe.apply([tokens])[0] if tokens else ""

    def decode(self, symbols):
        return " ".join(symbols).replace("@@ ", "")

    def vocabulary(self):
        return None
