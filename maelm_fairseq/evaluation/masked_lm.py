"""Masked-LM loss of a checkpoint on a split, next to the context-free (unigram) model of the same data.

Both are in bits per masked text token and are scored on exactly the same tokens (same blocks, same masks). The
unigram model's probabilities are token counts over the training split (each line's `</s>` included, add-one
smoothed): a masked LM that has learned token frequencies and nothing else scores it, so every bit under it
comes from context. The `<s>` that opens every block is left out of both scores: it can be masked too (as in
fairseq's masked_lm), and a model predicts it from its position alone.
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UserInputError, console_main


def split_tokens(data_bin, split, dictionary) -> np.ndarray:
    """Every token id of a binarized split (each line's </s> included), as one array."""
    from fairseq.data import data_utils

    from ..data.split_checks import check_split_files

    path = os.path.join(data_bin, split)
    check_split_files(path, dictionary)
    dataset = data_utils.load_indexed_dataset(path, dictionary)
    if dataset is None:
        raise UserInputError(f"{path}.bin/.idx: no `{split}` split in {data_bin} — binarize it with "
                             f"fairseq-preprocess (preprocess/README.md)")
    return np.concatenate([dataset[i].numpy() for i in range(len(dataset))])


def unigram_log2_probs(data_bin, dictionary) -> torch.Tensor:
    """log2 p(token) over the train split of DATA_BIN, add-one smoothed, for the ids of `dictionary` (a task's,
    <mask> included); <s>, padding and <mask>, never scored, get -inf."""
    counts = 1.0 + np.bincount(split_tokens(data_bin, "train", dictionary), minlength=len(dictionary))
    never_scored = [dictionary.bos(), dictionary.pad()]
    if "<mask>" in dictionary.indices:
        never_scored.append(dictionary.index("<mask>"))
    counts[never_scored] = 0.0
    log2_probs = np.full(len(counts), -np.inf)
    log2_probs[counts > 0] = np.log2(counts[counts > 0] / counts.sum())
    return torch.from_numpy(log2_probs)


@torch.no_grad()
def masked_lm_bits(model, task, split="valid", batch_size=16, seed=1, unigram=None, device="cpu"):
    """(model bits, unigram bits or None) per masked text token of `split`, masks fixed by `seed`; the unigram
    reference is scored on the same tokens when `unigram` (from unigram_log2_probs, on `device`) is given."""
    from fairseq import utils

    model.eval()
    bos, pad = task.source_dictionary.bos(), task.source_dictionary.pad()
    iterator = task.get_batch_iterator(task.dataset(split), max_sentences=batch_size, seed=seed)
    model_sum = unigram_sum = scored = 0.0
    for sample in iterator.next_epoch_itr(shuffle=False):
        if device != "cpu":
            sample = utils.move_to_cuda(sample, device=device)
        target = sample["target"]
        predicted = target.ne(pad)
        logits, _ = model(**sample["net_input"], masked_tokens=predicted)
        target = target[predicted]
        text = target.ne(bos)
        log_probs = F.log_softmax(logits.float(), dim=-1)[text]
        model_sum -= float(log_probs.gather(-1, target[text].unsqueeze(-1)).sum())
        scored += int(text.sum())
        if unigram is not None:
            unigram_sum -= float(unigram[target[text]].sum())
    scored = max(scored, 1)
    return model_sum / scored / math.log(2), (unigram_sum / scored if unigram is not None else None)


def load_pretraining_checkpoint(path, data_bin):
    """(state, cfg) of a pretraining checkpoint, read against DATA_BIN, with the plugin it names imported."""
    from fairseq import checkpoint_utils, utils

    from .. import tasks  # noqa: F401  (registers the plugin: fairseq's loader below skips this imported package)

    state = checkpoint_utils.load_checkpoint_to_cpu(path, {"data": data_bin})
    utils.import_user_module(state["cfg"].common)
    return state, state["cfg"]


def scoring_task(cfg, mask_prob=None, seed=None):
    """The checkpoint's task with its valid split loaded, for masked_lm_bits; mask_prob / seed replace the
    checkpoint's."""
    from fairseq import tasks

    if mask_prob is not None:
        cfg.task.mask_prob = mask_prob
    if seed is not None:
        cfg.common.seed = seed
    task = tasks.setup_task(cfg.task)
    task.load_dataset("valid")
    return task


def scoring_model(task, cfg, state=None):
    """The checkpoint's model with its weights, or (state None) at its seeded random initialisation."""
    from fairseq import utils

    utils.set_torch_seed(cfg.common.seed)
    model = task.build_model(cfg.model)
    if state is not None:
        model.load_state_dict(state["model"], strict=True, model_cfg=cfg.model)
    return model


def unigram_reference_bits(data_bin, dictionary, split="valid") -> float:
    """What the unigram model scores per masked text token of `split`, in expectation over the masks (which pick
    positions uniformly): its mean bits over every text token of the split."""
    tokens = split_tokens(data_bin, split, dictionary)
    return float(-unigram_log2_probs(data_bin, dictionary)[torch.from_numpy(tokens)].mean())


@console_main
def main(argv=None):
    """python -m maelm_fairseq.evaluation.masked_lm DATA_BIN [--out FILE.json]: prints the unigram reference of the
    valid split (bits per masked text token, in expectation over the masks)."""
    import argparse
    import json

    from ..data.dictionary import load_dictionary

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("data_bin")
    parser.add_argument("--out", help="also write {\"unigram_bits\": ...} to this JSON file")
    args = parser.parse_args(argv)
    dictionary = load_dictionary(os.path.join(args.data_bin, "dict.txt"))
    bits = unigram_reference_bits(args.data_bin, dictionary)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"unigram_bits": bits}, fh)
    print(f"{bits:.3f}")


if __name__ == "__main__":
    import sys

    sys.exit(main())
