"""Validation masked-LM loss of a pretraining checkpoint, and of the unigram model on the same tokens, in bits per
masked text token (maelm_fairseq/evaluation/masked_lm.py), at one or more masking rates.

Every checkpoint is scored on the same validation blocks with the same masks (fairseq's MaskTokensDataset seeded
by --seed), so models trained at different masking rates can be compared at one rate (0.15), and each also at
its own training rate. Prints one JSON line (and writes it to --out). Runs on CUDA when there is a GPU.

    python examples/repro/mlm_loss.py CHECKPOINT DATA_BIN [--mask-prob 0.15] [--seed 1] [--out FILE.json]
"""
import argparse
import json

import torch
from maelm_fairseq.evaluation.masked_lm import (load_pretraining_checkpoint, masked_lm_bits, scoring_model,
                                                scoring_task, unigram_log2_probs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("data_bin")
    parser.add_argument("--mask-prob", type=float, action="append",
                        help="masking rate(s) to score at (repeatable); default: 0.15 and the training rate")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per forward pass")
    parser.add_argument("--out", help="also write the JSON line to this file")
    args = parser.parse_args()
    state, cfg = load_pretraining_checkpoint(args.checkpoint, args.data_bin)
    train_p = float(cfg.task.mask_prob)
    rates = args.mask_prob or sorted({0.15, train_p})
    result = {"checkpoint": args.checkpoint, "updates": state["optimizer_history"][-1]["num_updates"],
              "train_mask_prob": train_p, "loss_bits": {}, "unigram_bits": {}}
    unigram = None
    for p in rates:
        task = scoring_task(cfg, mask_prob=p, seed=args.seed)
        model = scoring_model(task, cfg, state)
        if unigram is None:
            unigram = unigram_log2_probs(args.data_bin, task.source_dictionary)
        model.to(args.device)
        loss, reference = masked_lm_bits(model, task, batch_size=args.batch_size, seed=args.seed,
                                         unigram=unigram.to(args.device), device=args.device)
        result["loss_bits"][f"{p:g}"] = loss
        result["unigram_bits"][f"{p:g}"] = reference
    line = json.dumps(result)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
