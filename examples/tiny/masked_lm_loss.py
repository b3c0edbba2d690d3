"""Validation masked-LM loss (bits per predicted token) of a pretraining checkpoint and of the same model at its
random initialisation (same seed, same masks): the demo's before/after.

    python examples/tiny/masked_lm_loss.py CHECKPOINT DATA_BIN
"""
import argparse
import math

import torch
from fairseq import checkpoint_utils, tasks, utils


def valid_loss(model, task, criterion):
    model.eval()
    iterator = task.get_batch_iterator(task.dataset("valid"), max_sentences=16, seed=1).next_epoch_itr(shuffle=False)
    loss_sum = predicted = 0.0
    with torch.no_grad():
        for sample in iterator:
            loss, sample_size, _ = criterion(model, sample)
            loss_sum += float(loss)
            predicted += sample_size
    return loss_sum / max(predicted, 1) / math.log(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("data_bin")
    args = parser.parse_args()
    state = checkpoint_utils.load_checkpoint_to_cpu(args.checkpoint, {"data": args.data_bin})
    cfg = state["cfg"]
    utils.import_user_module(cfg.common)
    task = tasks.setup_task(cfg.task)
    task.load_dataset("valid")
    criterion = task.build_criterion(cfg.criterion)
    utils.set_torch_seed(cfg.common.seed)
    initial = task.build_model(cfg.model)
    trained = task.build_model(cfg.model)
    trained.load_state_dict(state["model"], strict=True, model_cfg=cfg.model)
    before, after = valid_loss(initial, task, criterion), valid_loss(trained, task, criterion)
    print(f"valid masked-LM loss: {before:.3f} bits at initialisation -> {after:.3f} bits after "
          f"{state['optimizer_history'][-1]['num_updates']} updates")


if __name__ == "__main__":
    main()
