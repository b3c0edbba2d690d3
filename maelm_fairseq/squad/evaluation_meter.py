"""A fairseq meter that collects the evaluation windows of a whole validation pass and scores them once.

fairseq calls `task.reduce_metrics` once per validation batch, but a question's windows can fall in different
batches, so EM/F1 can only be computed from everything at the end. The meter accumulates the windows (fairseq
keeps one per aggregator) and the logged metrics are derived from it, computed once per aggregator and cached.
It is not saved in checkpoints: validation aggregators are temporary.
"""
import math

from fairseq.logging.meters import Meter

V1_METRICS = ("exact", "f1")
V2_METRICS = V1_METRICS + ("HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1",
                           "best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh")


class SquadEvaluationMeter(Meter):
    def __init__(self, evaluate):
        """evaluate(split, {feature id: WindowLogits}) -> {metric: value}."""
        super().__init__()
        self.evaluate = evaluate
        self.reset()

    def reset(self):
        self.split, self.windows, self._result = None, {}, None

    def update(self, split, windows):
        if self.split not in (None, split):
            raise RuntimeError(f"windows of '{self.split}' and '{split}' in one validation aggregate")
        self.split = split
        self.windows.update(windows)
        self._result = None

    def result(self):
        if self._result is None:
            self._result = self.evaluate(self.split, self.windows) if self.windows else {}
        return self._result

    def value(self, key):
        return round(self.result().get(key, math.nan), 4)

    @property
    def smoothed_value(self) -> float:
        return len(self.windows)
