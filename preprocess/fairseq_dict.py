"""Write the fairseq dict.txt for a tokenizer so that `Dictionary.load` accepts it and `<mask>` is appended once.

fairseq's Dictionary already holds <s>, <pad>, </s>, <unk> at ids 0-3, and the masked_lm / sentence_prediction
tasks call `add_symbol("<mask>")` after loading; so none of those five may appear in dict.txt, which makes the
mask index len(dict.txt lines) + 4 in pretraining and fine-tuning alike.
"""
RESERVED_SYMBOLS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


def dict_entries(vocabulary, symbol_counts):
    """(symbol, count) pairs: the tokenizer's own order when it has a fixed vocabulary (ids then do not depend
    on the corpus), else by decreasing corpus count (ties by symbol, for determinism)."""
    if vocabulary is not None:
        return [(symbol, symbol_counts.get(symbol, 0)) for symbol in vocabulary]
    return sorted(symbol_counts.items(), key=lambda item: (-item[1], item[0]))


def write_dict(path, entries):
    """Write `symbol count` lines; returns the reserved symbols that were left out (they map to <unk>)."""
    dropped = []
    with open(path, "w", encoding="utf-8") as out:
        for symbol, count in entries:
            if symbol in RESERVED_SYMBOLS or not symbol or " " in symbol:
                dropped.append(symbol)
                continue
            out.write(f"{symbol} {count}\n")
    return dropped
