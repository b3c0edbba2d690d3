"""Criterion `maelm_squad`: mean of the start and end cross-entropies, summed over the questions of a batch.

Labels of -1 (a gold answer the preprocessing could not locate) are ignored. In evaluation mode every window
also reports its top start/end positions and its null score; task `maelm_squad` turns them into answers and
EM/F1 (task.py, predictions.py).
"""
import math

import torch.nn.functional as F
from fairseq import metrics
from fairseq.criterions import FairseqCriterion, register_criterion
from fairseq.dataclass import FairseqDataclass
from fairseq.tasks import TASK_REGISTRY

from ..errors import UserInputError
from ..models.checks import task_name
from .predictions import WindowLogits

WINDOWS_KEY = "squad_windows"  # logging-output entry with the evaluation windows of a batch


@register_criterion("maelm_squad", dataclass=FairseqDataclass)
class SquadCriterion(FairseqCriterion):
    def __init__(self, task):
        super().__init__(task)
        # looked up, not imported: the task module imports this one
        if not isinstance(task, TASK_REGISTRY["maelm_squad"]):
            raise UserInputError(f"--criterion maelm_squad: needs --task maelm_squad, which adds the span head and "
                                 f"reads SQuAD features, but got --task {task_name(task)} — fine-tune SQuAD with "
                                 f"--task maelm_squad --criterion maelm_squad on the output of "
                                 f"preprocess/squad/prepare_squad.py")

    def forward(self, model, sample, reduce=True):
        features, _ = model(**sample["net_input"], features_only=True)
        start_logits, end_logits = model.squad_head(features, sample["p_mask"])
        loss = (F.cross_entropy(start_logits, sample["start_positions"], ignore_index=-1, reduction="sum")
                + F.cross_entropy(end_logits, sample["end_positions"], ignore_index=-1, reduction="sum")) / 2
        sample_size = sample["nsentences"]
        logging_output = {"loss": loss.data, "ntokens": sample["ntokens"], "nsentences": sample_size,
                          "sample_size": sample_size}
        if not model.training:
            logging_output[WINDOWS_KEY] = (sample["split"], window_logits(sample["id"], start_logits, end_logits,
                                                                          self.task.cfg.n_best_size))
        return loss, sample_size, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        loss = sum(log.get("loss", 0) for log in logging_outputs)
        sample_size = sum(log.get("sample_size", 0) for log in logging_outputs)
        metrics.log_scalar("loss", loss / max(sample_size, 1) / math.log(2), sample_size, round=3)

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        return False  # evaluation windows are lists, gathered rather than summed


def window_logits(ids, start_logits, end_logits, n_best):
    """{feature id: WindowLogits} with the n_best start and end positions of each window (plain Python numbers)."""
    k = min(n_best, start_logits.size(1))
    top_start, top_end = start_logits.detach().float().topk(k, dim=1), end_logits.detach().float().topk(k, dim=1)
    null = (start_logits[:, 0] + end_logits[:, 0]).tolist()
    return {
        int(i): WindowLogits(list(zip(top_start.indices[b].tolist(), top_start.values[b].tolist())),
                             list(zip(top_end.indices[b].tolist(), top_end.values[b].tolist())), null[b])
        for b, i in enumerate(ids.tolist())
    }
