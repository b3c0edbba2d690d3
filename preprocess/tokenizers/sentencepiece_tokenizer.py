"""Sentencepiece: training on a bounded sample of the corpus, and encoding to space-separated pieces."""
import sentencepiece as spm

# Sentencepiece samples at most this many sentences (reservoir sampling over the streamed file), so training
# memory does not grow with the corpus.
TRAINING_SENTENCE_CAP = 2_000_000


def train_sentencepiece(text_path, model_prefix, vocab_size):
    """Train a BPE sentencepiece model on `text_path`; returns the vocabulary size actually reached.

    hard_vocab_limit=False lets a small corpus stop below `vocab_size` instead of failing. byte_fallback
    spells characters outside the vocabulary as UTF-8 byte pieces (<0xE2>...) so no text becomes <unk>.
    """
    spm.SentencePieceTrainer.train(
        input=str(text_path),
        model_prefix=str(model_prefix),
        vocab_size=vocab_size,
        model_type="bpe",
        hard_vocab_limit=False,
        byte_fallback=True,
        input_sentence_size=TRAINING_SENTENCE_CAP,
        shuffle_input_sentence=True,
        character_coverage=0.9999,
        minloglevel=2,
    )
    return spm.SentencePieceProcessor(model_file=f"{model_prefix}.model").get_piece_size()


class SentencepieceTokenizer:
    kind = "sentencepiece"

    def __init__(self, model_path):
        self.processor = spm.SentencePieceProcessor(model_file=str(model_path))

    def encode(self, line):
        return " ".join(self.processor.encode(line, out_type=str))

    def encode_with_offsets(self, text):
        """Pieces of `text` and, for each piece, its (start, end) character span in `text`.

        A piece that starts with '▁' covers the whitespace before its word, so spans tile the text.
        """
        mapping = self.processor.EncodeAsOffsetMapping(text)
        return mapping["pieces"], [tuple(span) for span in mapping["offsets"]]

    def decode(self, symbols):
        return self.processor.decode_pieces(list(symbols))

    def vocabulary(self):
        # Control pieces (<s>, </s>) and <unk> are never emitted as text; fairseq has its own specials.
        processor = self.processor
        return [
            processor.id_to_piece(i)
            for i in range(processor.get_piece_size())
            if not (processor.is_control(i) or processor.is_unknown(i))
        ]
