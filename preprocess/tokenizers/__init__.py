"""The subword tokenizers behind one interface, built from the manifest that records which one a data-bin uses.

Every pipeline (pretraining corpus, GLUE, SQuAD) builds its tokenizer from the manifest written next to the
pretraining dict.txt (tokenizer.json, maelm_fairseq/data/tokenizer_manifest.py), so one sentence always becomes the
same symbols, hence the same ids, everywhere.

Interface of a tokenizer object:
    encode(line) -> str          space-separated symbols, the text fed to fairseq-preprocess
    decode(symbols) -> str       inverse of encode for a list of symbols (used to check round trips)
    vocabulary() -> list | None  every symbol the model can emit in a fixed order, or None when the
                                 symbol set is defined by the corpus (fastBPE)
"""
import shutil
from pathlib import Path

from maelm_fairseq.data.tokenizer_manifest import read_manifest, write_manifest
from preprocess.errors import fail

SP_MODEL_NAME = "sentencepiece.model"


def load_tokenizer(directory):
    """Build the tokenizer described by `directory/tokenizer.json`."""
    manifest = read_manifest(directory)
    files, kind = manifest.file_paths(), manifest.kind
    if kind == "sentencepiece":
        from preprocess.tokenizers.sentencepiece_tokenizer import SentencepieceTokenizer

        return SentencepieceTokenizer(files["model"])
    if kind == "gpt2":
        from preprocess.tokenizers.gpt2_tokenizer import Gpt2Tokenizer

        return Gpt2Tokenizer(files["encoder_json"], files["vocab_bpe"])
    if kind == "fastbpe":
        from preprocess.tokenizers.fastbpe_tokenizer import FastBpeTokenizer

        return FastBpeTokenizer(files["codes"], **manifest.options)
    from preprocess.tokenizers.maelm_sentencepiece_tokenizer import MaelmSentencepieceTokenizer

    return MaelmSentencepieceTokenizer(files["model"])  # maelm-sentencepiece: read_manifest refuses other kinds


def add_tokenizer_flags(parser):
    """--tokenizer/--sp-model of the GLUE and SQuAD pipelines: for a data-bin without tokenizer.json, such as one
    prepared by the MAE-LM repository (its dict.txt, and its sentencepiece model given here)."""
    parser.add_argument("--tokenizer", choices=["maelm-sentencepiece"],
                        help="encode with this tokenizer instead of the one recorded in --tokenizer-dir "
                             "(maelm-sentencepiece: the MAE-LM repository's pre-tokenizer and sentencepiece; "
                             "needs --sp-model)")
    parser.add_argument("--sp-model", metavar="FILE", help="with --tokenizer: the sentencepiece model")


def tokenizer_directory(parser, args, record_dir):
    """The directory whose tokenizer.json and dict.txt encode the text: --tokenizer-dir itself, or, with
    --tokenizer, `record_dir` after writing there the manifest, the --sp-model and --tokenizer-dir's dict.txt."""
    if args.tokenizer is None:
        if args.sp_model:
            parser.error("--sp-model needs --tokenizer maelm-sentencepiece (otherwise tokenizer.json decides)")
        read_manifest(args.tokenizer_dir, fix="pass the data-bin written by preprocess/pretrain/prepare_corpus.py, "
                      "or for a data-bin prepared by the MAE-LM repository add --tokenizer maelm-sentencepiece "
                      "--sp-model <its sp.model>")
        return Path(args.tokenizer_dir)
    if not args.sp_model:
        parser.error(f"--tokenizer {args.tokenizer} needs --sp-model FILE (the sentencepiece model)")
    for path in (Path(args.sp_model), Path(args.tokenizer_dir, "dict.txt")):
        if not path.is_file():
            fail(path, "not found", "check --sp-model and --tokenizer-dir (the data-bin holding dict.txt)")
    record_dir = Path(record_dir)
    record_dir.mkdir(parents=True, exist_ok=True)
    for source, name in ((args.sp_model, SP_MODEL_NAME), (Path(args.tokenizer_dir, "dict.txt"), "dict.txt")):
        if not (record_dir / name).exists() or not (record_dir / name).samefile(source):
            shutil.copyfile(source, record_dir / name)
    write_manifest(record_dir, args.tokenizer, {"model": SP_MODEL_NAME})
    return record_dir
