"""Criterion `maelm_sentence_prediction`: fairseq's `sentence_prediction` (same loss, same flags) that also logs
the metrics GLUE reports, on every validation pass:

- 2 classes: f1 (of the label "1", the positive class of MRPC/QQP/CoLA; only when the label dictionary has it),
  mcc (Matthews correlation, CoLA) and acc_f1 ((accuracy + f1) / 2, MRPC/QQP's combined score);
- regression (--regression-target, STS-B): pearson, spearman and their mean pearson_spearman.

All in percent, like fairseq's accuracy. Spearman needs the ranks of the whole validation set, and fairseq reduces
metrics batch by batch, so in evaluation mode the criterion logs every prediction and a meter collects them over
the pass (validation aggregators are temporary, so nothing of it lands in checkpoints). Training logs what
fairseq's criterion logs.
"""
import math

from fairseq import metrics
from fairseq.criterions import register_criterion
from fairseq.criterions.sentence_prediction import SentencePredictionConfig, SentencePredictionCriterion
from fairseq.logging.meters import Meter

from . import metrics as glue_metrics  # `metrics` is fairseq's logging module here

PREDICTIONS_KEY = "predictions"  # logging-output entry: (predictions, targets, positive class, metric names)
POSITIVE_LABEL = "1"


class CollectedPredictions(Meter):
    """Predictions and targets of a whole validation pass; metrics computed once from them."""

    def __init__(self, positive):
        super().__init__()
        self.positive = positive
        self.reset()

    def reset(self):
        self.predictions, self.targets, self._cache = [], [], {}

    def update(self, predictions, targets):
        self.predictions += predictions
        self.targets += targets
        self._cache = {}

    def value(self, name):
        if name not in self._cache:
            self._cache[name] = round(100 * METRICS[name](self), 2) if self.targets else math.nan
        return self._cache[name]

    @property
    def smoothed_value(self) -> float:
        return len(self.targets)


def _accuracy(m):
    return sum(p == t for p, t in zip(m.predictions, m.targets)) / len(m.targets)


METRICS = {
    "f1": lambda m: glue_metrics.f1(m.predictions, m.targets, m.positive),
    "mcc": lambda m: glue_metrics.matthews_corrcoef(m.predictions, m.targets, m.positive),
    "acc_f1": lambda m: (_accuracy(m) + glue_metrics.f1(m.predictions, m.targets, m.positive)) / 2,
    "pearson": lambda m: glue_metrics.pearson(m.predictions, m.targets),
    "spearman": lambda m: glue_metrics.spearman(m.predictions, m.targets),
    "pearson_spearman": lambda m: (glue_metrics.pearson(m.predictions, m.targets)
                                   + glue_metrics.spearman(m.predictions, m.targets)) / 2,
}


@register_criterion("maelm_sentence_prediction", dataclass=SentencePredictionConfig)
class SentencePredictionMetricsCriterion(SentencePredictionCriterion):
    def __init__(self, cfg: SentencePredictionConfig, task):
        super().__init__(cfg, task)
        self.positive, self.metric_names = None, ()
        labels = getattr(task, "label_dictionary", None)
        if self.regression_target:
            self.metric_names = ("pearson", "spearman", "pearson_spearman")
        elif getattr(task.cfg, "num_classes", None) == 2 and labels is not None:
            if POSITIVE_LABEL in labels.indices:
                self.positive = labels.index(POSITIVE_LABEL) - labels.nspecial  # label ids are offset by nspecial
                self.metric_names = ("f1", "mcc", "acc_f1")
            else:  # e.g. RTE's entailment/not_entailment: F1 has no positive class; MCC is symmetric
                self.positive, self.metric_names = 1, ("mcc",)

    def forward(self, model, sample, reduce=True):
        if model.training or not self.metric_names or "target" not in sample:
            return super().forward(model, sample, reduce)
        # catch the head's output during fairseq's own forward instead of running the model twice
        head_outputs = []
        hook = model.classification_heads[self.classification_head_name].register_forward_hook(
            lambda module, inputs, output: head_outputs.append(output.detach()))
        try:
            loss, sample_size, logging_output = super().forward(model, sample, reduce)
        finally:
            hook.remove()
        logits, targets = head_outputs[-1], sample["target"].view(-1)
        if self.regression_target:
            predictions, targets = logits.view(-1).float().tolist(), targets.float().tolist()
        else:
            predictions, targets = logits.argmax(dim=1).tolist(), targets.tolist()
        logging_output[PREDICTIONS_KEY] = (predictions, targets, self.positive, self.metric_names)
        return loss, sample_size, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        SentencePredictionCriterion.reduce_metrics(logging_outputs)
        collected = [log[PREDICTIONS_KEY] for log in logging_outputs if PREDICTIONS_KEY in log]
        if not collected:
            return
        _, _, positive, names = collected[0]
        for predictions, targets, _, _ in collected:
            metrics.log_custom(lambda: CollectedPredictions(positive), "_predictions", predictions, targets)
        for name in names:
            metrics.log_derived(name, lambda meters, name=name: meters["_predictions"].value(name))

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        return False  # validation outputs carry prediction lists, gathered rather than summed
