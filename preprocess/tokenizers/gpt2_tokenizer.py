"""GPT-2 byte-level BPE as fairseq RoBERTa uses it: text -> BPE ids written as decimal strings.

The encoder.json / vocab.bpe pair is supplied by the user (nothing is downloaded); the dict.txt symbols are
the BPE ids, exactly as in fairseq's examples/roberta multiprocessing_bpe_encoder + dict.txt recipe.
"""
from fairseq.data.encoders.gpt2_bpe_utils import get_encoder


class Gpt2Tokenizer:
    kind = "gpt2"

    def __init__(self, encoder_json, vocab_bpe):
        self.bpe = get_encoder(str(encoder_json), str(vocab_bpe))

    def encode(self, line):
        return " ".join(str(bpe_id) for bpe_id in self.bpe.encode(line))

    def decode(self, symbols):
        return self.bpe.decode([int(symbol) for symbol in symbols])

    def vocabulary(self):
        return [str(bpe_id) for bpe_id in sorted(self.bpe.encoder.values())]
