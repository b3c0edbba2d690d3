"""Moses word tokenization (sacremoses) followed by fastBPE codes, with a fairseq dictionary's ids.

The same text-to-symbols steps as maelm-fairseq's preprocessing (`--tokenizer fastbpe`): sacremoses' English
tokenizer without escaping, optional lowercasing, then fastBPE's merges (lowest code rank first, `</w>` marking
the end of a word, `@@` on every subword but a word's last). Symbols outside the dictionary become `<unk>`, as in
fairseq. Sequences are `<s> A </s>` and `<s> A </s> </s> B </s>`, as in RoBERTa.
"""
import json
import os
import shutil

from transformers import PreTrainedTokenizer

VOCAB_FILES_NAMES = {"vocab_file": "vocab.json", "codes_file": "bpe.codes"}
END_OF_WORD = "</w>"
CONTINUATION = "@@"


def read_codes(path):
    """{(left, right): rank} from a fastBPE codes file ("left right count" lines, most frequent first)."""
    with open(path, encoding="utf-8") as handle:
        pairs = [tuple(line.split(" ")[:2]) for line in handle.read().splitlines() if line]
    return {pair: rank for rank, pair in enumerate(pairs)}


def apply_codes(word, ranks):
    """fastBPE on one word: merge the lowest-ranked adjacent pair everywhere (left to right), until none is left."""
    parts = list(word[:-1]) + [word[-1] + END_OF_WORD]
    while len(parts) > 1:
        ranked = [(ranks[pair], i) for i, pair in enumerate(zip(parts, parts[1:])) if pair in ranks]
        if not ranked:
            break
        best = parts[min(ranked)[1]], parts[min(ranked)[1] + 1]
        merged, i = [], 0
        while i < len(parts):
            if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                merged.append(parts[i] + parts[i + 1])
                i += 2
            else:
                merged.append(parts[i])
                i += 1
        parts = merged
    return [p + CONTINUATION for p in parts[:-1]] + [parts[-1][:-len(END_OF_WORD)]]


class MaelmFastBpeTokenizer(PreTrainedTokenizer):
    vocab_files_names = VOCAB_FILES_NAMES
    model_input_names = ["input_ids", "attention_mask"]

    def __init__(self, vocab_file, codes_file, lowercase=False, bos_token="<s>", eos_token="</s>",
                 sep_token="</s>", cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                 **kwargs):
        from sacremoses import MosesTokenizer

        self.moses = MosesTokenizer(lang="en")
        self.lowercase = lowercase
        self.vocab_file, self.codes_file = vocab_file, codes_file
        with open(vocab_file, encoding="utf-8") as handle:
            self.encoder = json.load(handle)
        self.decoder = {i: symbol for symbol, i in self.encoder.items()}
        self.ranks = read_codes(codes_file)
        self.cache = {}
        kwargs.setdefault("special_tokens_pattern", "cls_double_sep")
        super().__init__(bos_token=bos_token, eos_token=eos_token, sep_token=sep_token, cls_token=cls_token,
                         unk_token=unk_token, pad_token=pad_token, mask_token=mask_token, lowercase=lowercase,
                         **kwargs)

    @property
    def vocab_size(self):
        return len(self.encoder)

    def get_vocab(self):
        return dict(self.encoder, **self.added_tokens_encoder)

    def _tokenize(self, text, **kwargs):
        words = self.moses.tokenize(text, escape=False, return_str=True)
        if self.lowercase:
            words = words.lower()
        symbols = []
        for word in words.split():
            if word not in self.cache:
                self.cache[word] = apply_codes(word, self.ranks)
            symbols.extend(self.cache[word])
        return symbols

    def _convert_token_to_id(self, token):
        return self.encoder.get(token, self.encoder[str(self.unk_token)])

    def _convert_id_to_token(self, index):
        return self.decoder.get(index, str(self.unk_token))

    def convert_tokens_to_string(self, tokens):
        return " ".join(tokens).replace(CONTINUATION + " ", "").strip()

    def save_vocabulary(self, save_directory, filename_prefix=None):
        prefix = f"{filename_prefix}-" if filename_prefix else ""
        out = []
        for source, name in ((self.vocab_file, "vocab_file"), (self.codes_file, "codes_file")):
            target = os.path.join(save_directory, prefix + VOCAB_FILES_NAMES[name])
            if os.path.abspath(source) != os.path.abspath(target):
                shutil.copyfile(source, target)
            out.append(target)
        return tuple(out)


__all__ = ["MaelmFastBpeTokenizer"]
