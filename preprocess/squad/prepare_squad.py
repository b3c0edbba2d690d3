#!/usr/bin/env python
"""SQuAD v1.1 / v2.0 json -> sliding-window features for fine-tuning (format: preprocess/squad/README.md).

Writes OUT/train.pt and/or OUT/valid.pt, plus dict.txt and the sentencepiece tokenizer copied from the
pretraining data-bin so the fine-tuning task finds the same vocabulary. A data-bin without tokenizer.json (one
prepared by the MAE-LM repository) takes --tokenizer maelm-sentencepiece --sp-model FILE.
"""
import argparse
import shutil
import sys
from pathlib import Path

from tqdm import tqdm

from maelm_fairseq.data.tokenizer_manifest import MANIFEST_NAME, read_manifest
from maelm_fairseq.errors import console_main
from preprocess.errors import fail
from preprocess.squad.read_squad import read_examples
from preprocess.tokenizers import add_tokenizer_flags, load_tokenizer, tokenizer_directory

OFFSET_TOKENIZERS = ("sentencepiece", "maelm-sentencepiece")  # they give each piece's characters in the context


def build_parser():
    parser = argparse.ArgumentParser(description="Turn SQuAD json into sliding-window features for fine-tuning.")
    parser.add_argument("--train-json", metavar="FILE", help="training json (train-v1.1.json / train-v2.0.json)")
    parser.add_argument("--valid-json", metavar="FILE", help="evaluation json (dev-v1.1.json / dev-v2.0.json)")
    parser.add_argument("--tokenizer-dir", required=True, metavar="DIR",
                        help="pretraining data-bin made with --tokenizer sentencepiece or maelm-sentencepiece "
                             "(tokenizer.json, dict.txt)")
    parser.add_argument("--output", required=True, metavar="DIR")
    parser.add_argument("--max-seq-length", type=int, default=384, help="tokens per feature, specials included")
    parser.add_argument("--doc-stride", type=int, default=128, help="context tokens between window starts")
    parser.add_argument("--max-query-length", type=int, default=64, help="question tokens kept")
    add_tokenizer_flags(parser)
    return parser


def convert(json_path, split, tokenizer, dictionary, args, output):
    # torch loads in seconds: not for --help
    import torch

    from maelm_fairseq.squad.feature_file import FORMAT_NAME, FORMAT_VERSION
    from preprocess.squad.features import build_features

    examples, squad_version = read_examples(json_path)
    features, unlocated = [], 0
    for index, example in enumerate(tqdm(examples, desc=f"squad {split}", mininterval=1.0, leave=False)):
        example_features, located = build_features(
            index, example, tokenizer, dictionary, args.max_seq_length, args.doc_stride, args.max_query_length
        )
        if not located:
            unlocated += 1
            if split == "train":
                continue  # a window labelled with a wrong span would teach the wrong answer
        features.extend(example_features)
    torch.save(
        {
            "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "squad_version": squad_version,
            "max_seq_length": args.max_seq_length, "doc_stride": args.doc_stride,
            "max_query_length": args.max_query_length,
            "examples": [example.as_dict() for example in examples], "features": features,
        },
        output / f"{split}.pt",
    )
    impossible = sum(example.is_impossible for example in examples)
    note = f", {unlocated} answers not found in the context" + (" (dropped)" if split == "train" else " (labels -1)") if unlocated else ""
    print(f"{split}: {json_path} ({squad_version}): {len(examples)} questions ({impossible} impossible), {len(features)} features{note}")


@console_main
def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not (args.train_json or args.valid_json):
        parser.error("give --train-json and/or --valid-json")
    if args.max_query_length < 1 or args.doc_stride < 1 or args.max_seq_length < args.max_query_length + 5:
        parser.error("need --max-query-length >= 1, --doc-stride >= 1 and --max-seq-length >= --max-query-length + 5")
    output = Path(args.output)
    tokenizer_dir = tokenizer_directory(parser, args, output)
    manifest = read_manifest(tokenizer_dir)
    if manifest.kind not in OFFSET_TOKENIZERS:
        fail(Path(tokenizer_dir, MANIFEST_NAME), f"tokenizer is {manifest.kind}, SQuAD needs sentencepiece "
             "(character offsets come from it)", "prepare the corpus with --tokenizer sentencepiece")
    # the tasks' reader: one line for a missing or garbled file, and a MAE-LM repository dict.txt read by its rules
    from maelm_fairseq.data.dictionary import load_dictionary

    dictionary = load_dictionary(str(Path(tokenizer_dir, "dict.txt")), mask=False,  # text never holds <mask>
                                 missing_hint=f"--tokenizer-dir must be the pretraining data-bin, which holds dict.txt "
                                              f"next to {MANIFEST_NAME} (preprocess/pretrain/prepare_corpus.py writes "
                                              f"both)")
    tokenizer = load_tokenizer(tokenizer_dir)
    output.mkdir(parents=True, exist_ok=True)
    if tokenizer_dir != output:
        for name in ["dict.txt", MANIFEST_NAME, *manifest.files.values()]:
            shutil.copyfile(Path(tokenizer_dir, name), output / name)
    for split, json_path in (("train", args.train_json), ("valid", args.valid_json)):
        if json_path:
            convert(json_path, split, tokenizer, dictionary, args, output)


if __name__ == "__main__":
    sys.exit(main())
