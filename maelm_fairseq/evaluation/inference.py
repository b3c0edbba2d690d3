"""A fine-tuned checkpoint run over one split of its task's data as the validation during fine-tuning ran it: the
checkpoint's own task settings and validation batch sizes, batches in the same order, fp16 when it was trained in
fp16 and a GPU is here. So the prediction commands (maelm-squad-predict, maelm-glue-predict) see what validation saw."""
import os

import torch

from ..errors import UserInputError


def read_checkpoint(checkpoint, task_name, data, fix, **task_overrides):
    """The checkpoint's state (cfg.task pointed at `data`, with the overrides); a checkpoint of another task is
    refused with an error ending in `fix` (how to get the right checkpoint)."""
    if not os.path.isfile(checkpoint):
        raise UserInputError(f"{checkpoint}: no such checkpoint file — {fix}")
    from fairseq import checkpoint_utils

    from .. import tasks  # noqa: F401  (registers our task/model for the checkpoint's cfg)

    state = checkpoint_utils.load_checkpoint_to_cpu(checkpoint, {"data": data, **task_overrides})
    trained_on = state["cfg"].task._name  # fairseq upgrades a legacy checkpoint's `args` to this cfg on loading
    if trained_on != task_name:
        raise UserInputError(f"{checkpoint}: a --task {trained_on} checkpoint, not {task_name} — {fix}")
    return state


def build_finetuned(checkpoint, state):
    """(model in eval mode, on the GPU when there is one; its task; the cfg) from read_checkpoint's state."""
    from fairseq import checkpoint_utils

    models, cfg, task = checkpoint_utils.load_model_ensemble_and_task([checkpoint], state=state)
    model = models[0].eval()
    if torch.cuda.is_available():
        model = (model.half() if cfg.common.fp16 else model).cuda()
    return model, task, cfg


def validation_batches(task, split, model, cfg):
    """The loaded `split` in fairseq-validate's batches, on the model's device. Every item is kept: an item longer
    than the model's positions stops with fairseq's error instead of silently missing from the predictions."""
    from fairseq import utils

    iterator = task.get_batch_iterator(
        dataset=task.dataset(split),
        max_tokens=cfg.dataset.max_tokens_valid,
        max_sentences=cfg.dataset.batch_size_valid,
        max_positions=utils.resolve_max_positions(task.max_positions(), model.max_positions()),
        ignore_invalid_inputs=False,
        required_batch_size_multiple=cfg.dataset.required_batch_size_multiple,
        seed=cfg.common.seed,
        num_workers=0,
    ).next_epoch_itr(shuffle=False)
    on_gpu = next(model.parameters()).is_cuda
    for sample in iterator:
        yield utils.move_to_cuda(sample) if on_gpu else sample
