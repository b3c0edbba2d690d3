#!/usr/bin/env python
"""Raw text files -> fairseq data-bin for masked-LM pretraining (dict.txt, train/valid .bin/.idx, tokenizer).

Input: plain text, one document per blank-line-separated block. Output directory:
    dict.txt                 fairseq dictionary (no <s>/<pad>/</s>/<unk>/<mask>: fairseq adds them)
    train.bin/.idx, valid.bin/.idx
    tokenizer.json + the tokenizer's files (sentencepiece.model | encoder.json, vocab.bpe | bpe.codes)
The GLUE and SQuAD pipelines read tokenizer.json and dict.txt from this directory.
"""
import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path


from maelm_fairseq.data.fork_dictionary import write_repository_dict
from maelm_fairseq.data.tokenizer_manifest import TOKENIZER_KINDS, write_manifest
from maelm_fairseq.errors import console_main
from preprocess.errors import fail
from preprocess.fairseq_dict import dict_entries, write_dict
from preprocess.parallel_encode import encode_documents_to_file
from preprocess.pretrain.split_corpus import write_split
from preprocess.text_stream import check_readable, iter_stripped_lines
from preprocess.tokenizers import SP_MODEL_NAME, load_tokenizer

DEFAULT_VOCAB_SIZE = {"sentencepiece": 32000, "fastbpe": 32000}
DEFAULT_VALID_FRACTION = 0.01


def build_parser():
    parser = argparse.ArgumentParser(
        description="Turn raw text (documents separated by blank lines) into a fairseq data-bin for pretraining."
    )
    parser.add_argument("--input", nargs="+", required=True, metavar="RAW.txt", help="raw text files, read in order")
    parser.add_argument("--output", required=True, metavar="DIR", help="data-bin directory to write")
    parser.add_argument("--tokenizer", choices=TOKENIZER_KINDS, default="sentencepiece")
    parser.add_argument(
        "--vocab-size", type=int, metavar="N",
        help="sentencepiece: vocabulary size to train (default 32000; a small corpus may stop below it); "
        "fastbpe: number of BPE merges to learn (default 32000). Not used with gpt2 or a supplied model.",
    )
    parser.add_argument("--workers", type=int, default=1, metavar="N", help="encoding and binarizing processes")
    split = parser.add_mutually_exclusive_group()
    split.add_argument("--valid-input", nargs="+", metavar="FILE", help="raw text files that form the valid split")
    split.add_argument(
        "--valid-fraction", type=float, metavar="F",
        help=f"fraction of documents drawn into the valid split (default {DEFAULT_VALID_FRACTION})",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the document split (default 1)")
    parser.add_argument("--sp-model", metavar="FILE", help="sentencepiece: use this trained model instead of training "
                        "one; maelm-sentencepiece: the model (required)")
    parser.add_argument("--gpt2-encoder-json", metavar="FILE", help="gpt2: encoder.json of the byte-level BPE (required)")
    parser.add_argument("--gpt2-vocab-bpe", metavar="FILE", help="gpt2: vocab.bpe merges of the byte-level BPE (required)")
    parser.add_argument("--bpe-codes", metavar="FILE", help="fastbpe: use these codes instead of learning them")
    parser.add_argument("--lowercase", action="store_true", help="fastbpe: lowercase after Moses tokenization")
    return parser


def check_flag_combinations(parser, args):
    """Reject flags that would silently do nothing with the chosen tokenizer."""
    kind = args.tokenizer
    if args.sp_model and kind not in ("sentencepiece", "maelm-sentencepiece"):
        parser.error("--sp-model only applies to --tokenizer sentencepiece or maelm-sentencepiece")
    if kind == "maelm-sentencepiece" and not args.sp_model:
        parser.error("--tokenizer maelm-sentencepiece needs --sp-model (the MAE-LM repository's tokenization of a "
                     "given sentencepiece model; nothing is trained)")
    if (args.gpt2_encoder_json or args.gpt2_vocab_bpe) and kind != "gpt2":
        parser.error("--gpt2-encoder-json/--gpt2-vocab-bpe only apply to --tokenizer gpt2")
    if kind == "gpt2" and not (args.gpt2_encoder_json and args.gpt2_vocab_bpe):
        parser.error("--tokenizer gpt2 needs --gpt2-encoder-json and --gpt2-vocab-bpe (nothing is downloaded)")
    if (args.bpe_codes or args.lowercase) and kind != "fastbpe":
        parser.error("--bpe-codes/--lowercase only apply to --tokenizer fastbpe")
    if args.vocab_size is not None and (kind == "gpt2" or args.sp_model or args.bpe_codes):
        parser.error("--vocab-size applies only when a sentencepiece model or fastBPE codes are trained here")
    if args.vocab_size is not None and args.vocab_size < 1:
        parser.error("--vocab-size must be positive")
    if args.valid_fraction is not None and not 0 < args.valid_fraction < 1:
        parser.error("--valid-fraction must be between 0 and 1")
    if args.workers < 1:
        parser.error("--workers must be at least 1")


def set_up_tokenizer(args, output, train_text, scratch):
    """Put the tokenizer's files in `output` (training them if needed) and write tokenizer.json."""
    vocab_size = args.vocab_size or DEFAULT_VOCAB_SIZE.get(args.tokenizer)
    if args.tokenizer == "sentencepiece":
        from preprocess.tokenizers.sentencepiece_tokenizer import train_sentencepiece

        if args.sp_model:
            shutil.copyfile(args.sp_model, output / "sentencepiece.model")
        else:
            reached = train_sentencepiece(train_text, scratch / "sentencepiece", vocab_size)
            if reached < vocab_size:
                print(f"note: the corpus supports only {reached} sentencepiece pieces; --vocab-size {vocab_size} was capped")
            shutil.copyfile(scratch / "sentencepiece.model", output / "sentencepiece.model")
        write_manifest(output, "sentencepiece", {"model": "sentencepiece.model"})
    elif args.tokenizer == "maelm-sentencepiece":
        shutil.copyfile(args.sp_model, output / SP_MODEL_NAME)
        write_manifest(output, "maelm-sentencepiece", {"model": SP_MODEL_NAME})
    elif args.tokenizer == "gpt2":
        shutil.copyfile(args.gpt2_encoder_json, output / "encoder.json")
        shutil.copyfile(args.gpt2_vocab_bpe, output / "vocab.bpe")
        write_manifest(output, "gpt2", {"encoder_json": "encoder.json", "vocab_bpe": "vocab.bpe"})
    else:
        from preprocess.tokenizers.fastbpe_codes import learn_codes

        if args.bpe_codes:
            shutil.copyfile(args.bpe_codes, output / "bpe.codes")
        else:
            learn_codes(train_text, vocab_size, output / "bpe.codes", args.lowercase, args.workers, scratch)
        write_manifest(output, "fastbpe", {"codes": "bpe.codes"}, {"lowercase": args.lowercase})


@console_main
def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    check_flag_combinations(parser, args)
    check_readable(args.input + (args.valid_input or []))
    check_readable(path for path in (args.sp_model, args.gpt2_encoder_json, args.gpt2_vocab_bpe, args.bpe_codes) if path)
    valid_fraction = DEFAULT_VALID_FRACTION if args.valid_fraction is None else args.valid_fraction
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(dir=output, prefix=".text-") as scratch_name:
        scratch = Path(scratch_name)
        train_text, valid_text = scratch / "train.txt", scratch / "valid.txt"
        train, valid = write_split(args.input, args.valid_input, valid_fraction, args.seed, train_text, valid_text)
        if train.lines == 0:
            fail(" ".join(args.input), "empty corpus: no non-blank line for the train split", "give a non-empty text file")
        if valid.lines == 0:
            where = " ".join(args.valid_input) if args.valid_input else " ".join(args.input)
            fail(where, "the valid split is empty", "pass --valid-input FILE or a larger --valid-fraction")

        set_up_tokenizer(args, output, train_text, scratch)
        tokenizer = load_tokenizer(output)
        stats = {}
        for split, text_path, count in (("train", train_text, True), ("valid", valid_text, False)):
            stats[split] = encode_documents_to_file(
                output, iter_stripped_lines([text_path]), scratch / f"{split}.tok", args.workers,
                count_symbols=count, desc=f"encode {split}", total_bytes=text_path.stat().st_size,
            )
        if args.tokenizer == "maelm-sentencepiece":  # every piece, no counts, as the MAE-LM repository writes it
            write_repository_dict(output / "dict.txt", tokenizer.vocabulary())
        else:
            entries = dict_entries(tokenizer.vocabulary(), stats["train"].symbol_counts)
            dropped = write_dict(output / "dict.txt", entries)
            if dropped:
                print(f"note: left out of dict.txt (fairseq reserves them; text equal to them maps to <unk>): {dropped}")

        from preprocess.binarize import run_fairseq_preprocess

        run_fairseq_preprocess(output, scratch / "train.tok", [scratch / "valid.tok"], args.workers, output / "dict.txt")

    print_summary(args.tokenizer, output, stats, time.perf_counter() - started)


def print_summary(kind, output, stats, total_seconds):
    with open(output / "dict.txt", encoding="utf-8") as handle:
        dict_size = sum(1 for _ in handle)
    encoded_bytes = sum(s.input_bytes for s in stats.values())
    encode_seconds = sum(s.seconds for s in stats.values())
    print(
        f"summary: {output} tokenizer={kind}\n"
        f"  documents {stats['train'].documents + stats['valid'].documents} "
        f"(train {stats['train'].documents}, valid {stats['valid'].documents})\n"
        f"  lines     {stats['train'].lines + stats['valid'].lines}\n"
        f"  tokens    {stats['train'].tokens + stats['valid'].tokens}\n"
        f"  vocab     {dict_size} dict.txt entries; model vocabulary with fairseq specials and <mask>: "
        f"{model_vocabulary_size(output / 'dict.txt')}\n"
        f"  encode    {encoded_bytes / 1e6:.2f} MB in {encode_seconds:.2f} s = {encoded_bytes / 1e6 / max(encode_seconds, 1e-9):.2f} MB/s "
        f"(total {total_seconds:.1f} s)"
    )


def model_vocabulary_size(dict_path):
    """fairseq's four specials, dict.txt's symbols (read as the tasks read it), and `<mask>` unless it is one."""
    from maelm_fairseq.data.dictionary import load_dictionary

    return len(load_dictionary(str(dict_path)))


if __name__ == "__main__":
    sys.exit(main())
