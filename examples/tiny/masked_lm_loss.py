"""The demo's pretraining verdict: valid masked-LM loss (bits per masked text token) of the checkpoint, of the same
model at its random initialisation, and of the unigram model of the same data, all on the same masked tokens.

    python examples/tiny/masked_lm_loss.py CHECKPOINT DATA_BIN [--required-gap 0.5]

Exits 1 when the trained model is not at least --required-gap bits under the unigram model.
"""
import argparse
import sys

from maelm_fairseq.evaluation.masked_lm import (load_pretraining_checkpoint, masked_lm_bits, scoring_model,
                                                scoring_task, unigram_log2_probs)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("data_bin")
    parser.add_argument("--required-gap", type=float, default=0.5, metavar="BITS",
                        help="how far under the unigram model the trained model must end (default 0.5)")
    args = parser.parse_args()
    state, cfg = load_pretraining_checkpoint(args.checkpoint, args.data_bin)
    task = scoring_task(cfg)
    initial, trained = scoring_model(task, cfg), scoring_model(task, cfg, state)
    before, _ = masked_lm_bits(initial, task)
    after, unigram = masked_lm_bits(trained, task, unigram=unigram_log2_probs(args.data_bin, task.source_dictionary))
    updates = state["optimizer_history"][-1]["num_updates"]
    gap = unigram - after
    print(f"valid masked-LM loss, bits per masked token (mask rate {cfg.task.mask_prob:g}):\n"
          f"  random initialisation          {before:7.3f}\n"
          f"  unigram model of the same data {unigram:7.3f}   (knows token frequencies, no context)\n"
          f"  after {updates:5d} updates            {after:7.3f}   ({gap:.3f} bits under the unigram model)")
    if gap < args.required_gap:
        print(f"the model did NOT get {args.required_gap} bits under the unigram model: it has learned little "
              f"context yet (train longer: PRETRAIN_UPDATES)")
        sys.exit(1)
    print(f"the model predicts masked tokens {gap:.2f} bits better than token frequencies alone: it uses context")


if __name__ == "__main__":
    main()
