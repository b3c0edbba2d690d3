"""`--tokenizer maelm-sentencepiece`: the MAE-LM repository's sentencepiece encoding, so one sentencepiece model gives
the same pieces (and, with its dict.txt, the same ids) here as there (its SentencepieceBPE and
preprocess/pretrain/get_vocab.py, github.com/yumeng5/MAE-LM).

A line is pre-tokenized (maelm_pretokenizer.py), encoded with the sentencepiece model, and a piece that is a lone
'▁' is dropped when it is the last piece or the next piece starts with punctuation. The dict.txt is every piece of
the model in id order without counts, as the repository's get_vocab.py writes it (read by
maelm_fairseq/data/fork_dictionary.py). Nothing is trained: the model comes with --sp-model.
"""
import sentencepiece as spm

from preprocess.tokenizers.maelm_pretokenizer import is_punctuation, pretokenize, pretokenize_tokens

LONE_SPACE = "\u2581"
# what the repository's SQuAD reader splits a context on (each word is then encoded on its own)
SQUAD_WHITESPACE = frozenset(" \t\r\n\u202f")


def lone_spaces(pieces):
    """Indices of the '▁' pieces the repository drops: the last piece, or one before a piece starting with
    punctuation."""
    return {i for i, piece in enumerate(pieces)
            if piece == LONE_SPACE and (i == len(pieces) - 1 or is_punctuation(pieces[i + 1][0]))}


class MaelmSentencepieceTokenizer:
    kind = "maelm-sentencepiece"

    def __init__(self, model_path):
        self.processor = spm.SentencePieceProcessor(model_file=str(model_path))

    def pieces(self, line):
        pieces = self.processor.encode(pretokenize(line), out_type=str)
        dropped = lone_spaces(pieces)
        return [piece for i, piece in enumerate(pieces) if i not in dropped]

    def encode(self, line):
        return " ".join(self.pieces(line))

    def encode_with_offsets(self, text):
        """Pieces of a SQuAD context and the (start, end) character span of each in `text`.

        As the repository's SQuAD features: the context is cut into words at whitespace and each word is encoded
        on its own. A piece covering only characters the pre-tokenizer added (its separating spaces) gets an
        empty span where it stands."""
        pieces, offsets = [], []
        start = 0
        while start < len(text):
            if text[start] in SQUAD_WHITESPACE:
                start += 1
                continue
            end = start
            while end < len(text) and text[end] not in SQUAD_WHITESPACE:
                end += 1
            word_pieces, word_offsets = self._encode_word(text[start:end])
            pieces += word_pieces
            offsets += [(start + s, start + e) for s, e in word_offsets]
            start = end
        return pieces, offsets

    def _encode_word(self, word):
        tokens = pretokenize_tokens(word)
        spans = []  # per character of the pre-tokenized word: input span, None for the spaces between tokens
        for token in tokens:
            spans += ([None] if spans else []) + token.spans
        mapping = self.processor.EncodeAsOffsetMapping(" ".join(token.text for token in tokens))
        dropped = lone_spaces(mapping["pieces"])
        pieces, offsets = [], []
        for i in range(len(mapping["pieces"])):
            if i in dropped:
                continue
            begin, end = mapping["offsets"][i]
            covered = [span for span in spans[begin:end] if span is not None]
            if covered:
                offsets.append((covered[0][0], covered[-1][1]))
            else:  # a lone '▁' or a byte piece after the first of its character: empty, at the next character
                following = next((span for span in spans[end:] if span is not None), (len(word), len(word)))
                offsets.append((following[0], following[0]))
            pieces.append(mapping["pieces"][i])
        return pieces, offsets

    def decode(self, symbols):
        """The pre-tokenized text (the pre-tokenizer maps quotes and spaces out punctuation, so it is not undone)."""
        return self.processor.decode_pieces(list(symbols))

    def vocabulary(self):
        """Every piece, in id order, aliases of fairseq's specials included (the repository's dict.txt)."""
        return [self.processor.id_to_piece(i) for i in range(self.processor.get_piece_size())]
