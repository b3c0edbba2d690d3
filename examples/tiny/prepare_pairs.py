"""Binarize the demo's sentence-pair task (maelm_fairseq.data.demo_corpus) with the pretraining tokenizer and dict,
in the layout fairseq's sentence_prediction task reads: input0/, input1/, label/.

    python examples/tiny/prepare_pairs.py PAIRS_DIR TOKENIZER_DATA_BIN OUT_DIR

The work is preprocess/pretrain/sentence_tasks.py's binarize_sentence_task with two input columns.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))  # the repo's preprocess/

from preprocess.pretrain.sentence_tasks import binarize_sentence_task  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pairs_dir", help="folder with {train,valid}.{input0,input1,label}")
    parser.add_argument("tokenizer_data_bin", help="pretraining data-bin (dict.txt + tokenizer.json)")
    parser.add_argument("out_dir")
    args = parser.parse_args()
    binarize_sentence_task(args.pairs_dir, args.tokenizer_data_bin, args.out_dir, inputs=("input0", "input1"))


if __name__ == "__main__":
    main()
