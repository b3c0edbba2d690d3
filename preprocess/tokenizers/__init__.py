"""The three subword tokenizers behind one interface, and the manifest that records which one a data-bin uses.

Every pipeline (pretraining corpus, GLUE, SQuAD) builds its tokenizer from the manifest written next to the
pretraining dict.txt, so one sentence always becomes the same symbols, hence the same ids, everywhere.

Interface of a tokenizer object:
    encode(line) -> str          space-separated symbols, the text fed to fairseq-preprocess
    decode(symbols) -> str       inverse of encode for a list of symbols (used to check round trips)
    vocabulary() -> list | None  every symbol the model can emit in a fixed order, or None when the
                                 symbol set is defined by the corpus (fastBPE)
"""
import json
from pathlib import Path

from preprocess.errors import fail

MANIFEST_NAME = "tokenizer.json"
TOKENIZER_KINDS = ("sentencepiece", "gpt2", "fastbpe")


def write_manifest(directory, kind, files, options=None):
    """Record the tokenizer kind, its files (relative to `directory`) and options such as lowercasing."""
    manifest = {"kind": kind, "files": files, "options": options or {}}
    Path(directory, MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")


def read_manifest(directory):
    path = Path(directory, MANIFEST_NAME)
    if not path.is_file():
        fail(path, "no tokenizer manifest", "pass the data-bin directory written by preprocess/pretrain/prepare_corpus.py")
    return json.loads(path.read_text())


def load_tokenizer(directory):
    """Build the tokenizer described by `directory/tokenizer.json`."""
    manifest = read_manifest(directory)
    files = {name: str(Path(directory, rel)) for name, rel in manifest["files"].items()}
    kind = manifest["kind"]
    if kind == "sentencepiece":
        from preprocess.tokenizers.sentencepiece_tokenizer import SentencepieceTokenizer

        return SentencepieceTokenizer(files["model"])
    if kind == "gpt2":
        from preprocess.tokenizers.gpt2_tokenizer import Gpt2Tokenizer

        return Gpt2Tokenizer(files["encoder_json"], files["vocab_bpe"])
    if kind == "fastbpe":
        from preprocess.tokenizers.fastbpe_tokenizer import FastBpeTokenizer

        return FastBpeTokenizer(files["codes"], **manifest["options"])
    fail(Path(directory, MANIFEST_NAME), f"unknown tokenizer kind {kind!r}", f"use one of {', '.join(TOKENIZER_KINDS)}")
