"""GLUE metrics (F1, MCC, Pearson, Spearman) against hand-computed values, and the criterion's reduction of
validation batches into one set of metrics."""
import math

import pytest
import torch
from fairseq import metrics

from maelm_fairseq.glue.criterion import PREDICTIONS_KEY, SentencePredictionMetricsCriterion
from maelm_fairseq.glue.metrics import average_ranks, f1, matthews_corrcoef, pearson, spearman


def test_f1_and_mcc_by_hand():
    predictions, targets = [1, 1, 1, 0], [1, 1, 0, 0]
    # positive 1: tp 2, fp 1, fn 0, tn 1 -> F1 4/5, MCC (2*1 - 1*0) / sqrt(3*2*2*1)
    assert f1(predictions, targets, positive=1) == pytest.approx(0.8)
    assert matthews_corrcoef(predictions, targets, positive=1) == pytest.approx(2 / math.sqrt(12))
    # positive 0: tp 1, fp 0, fn 1 -> F1 2/3; MCC does not depend on which class is positive
    assert f1(predictions, targets, positive=0) == pytest.approx(2 / 3)
    assert matthews_corrcoef(predictions, targets, positive=0) == pytest.approx(2 / math.sqrt(12))
    # tp 2, fp 1, fn 1, tn 2: F1 4/6, MCC 3/9
    assert f1([1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0]) == pytest.approx(2 / 3)
    assert matthews_corrcoef([1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0]) == pytest.approx(1 / 3)


def test_degenerate_cases_follow_sklearn():
    assert matthews_corrcoef([1, 1, 1], [1, 0, 1]) == 0.0  # constant prediction
    assert f1([0, 0], [0, 0]) == 0.0  # no positive anywhere
    assert pearson([1, 1, 1], [1, 2, 3]) == 0.0


def test_correlations_by_hand():
    # dx = (-1.5, -.5, .5, 1.5), dy = (-3, -1, 0, 4): cov 11, var 5 and 26
    assert pearson([1, 2, 3, 4], [2, 4, 5, 9]) == pytest.approx(11 / math.sqrt(130))
    assert spearman([1, 2, 3, 4], [2, 4, 5, 9]) == pytest.approx(1.0)
    assert average_ranks([10, 20, 10, 30]) == [1.5, 3, 1.5, 4]
    # ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4): cov 4.5, var 4.5 and 5
    assert spearman([1, 2, 3, 4], [1, 2, 2, 3]) == pytest.approx(4.5 / math.sqrt(22.5))
    assert spearman([1, 2, 3], [3, 1, 2]) == pytest.approx(-0.5)


def reduce(logging_outputs_per_batch):
    """What fairseq's validation does: one reduce_metrics call per batch inside one aggregation."""
    with metrics.aggregate(new_root=True) as agg:
        for outputs in logging_outputs_per_batch:
            SentencePredictionMetricsCriterion.reduce_metrics(outputs)
        return agg.get_smoothed_values()


def batch(predictions, targets, positive, names):
    n = len(targets)
    correct = sum(p == t for p, t in zip(predictions, targets))
    return [{"loss": torch.tensor(float(n)), "ntokens": 10 * n, "nsentences": n, "sample_size": n,
             "ncorrect": torch.tensor(correct), PREDICTIONS_KEY: (predictions, targets, positive, names)}]


def test_binary_metrics_span_all_validation_batches():
    names = ("f1", "mcc", "acc_f1")
    values = reduce([batch([1, 1], [1, 1], 1, names), batch([1, 0], [0, 0], 1, names)])
    # together: predictions 1 1 1 0, targets 1 1 0 0 -> accuracy 75, F1 80, MCC 2/sqrt(12)
    assert values["accuracy"] == 75.0 and values["f1"] == 80.0
    assert values["mcc"] == pytest.approx(100 * 2 / math.sqrt(12), abs=0.01)
    assert values["acc_f1"] == pytest.approx(77.5)
    assert not any(key.startswith("_") for key in values)


def test_regression_metrics_span_all_validation_batches():
    names = ("pearson", "spearman", "pearson_spearman")
    values = reduce([batch([1.0, 2.0], [2.0, 4.0], None, names), batch([3.0, 4.0], [5.0, 9.0], None, names)])
    assert values["pearson"] == pytest.approx(100 * 11 / math.sqrt(130), abs=0.01)
    assert values["spearman"] == 100.0
    assert values["pearson_spearman"] == pytest.approx((values["pearson"] + 100) / 2, abs=0.01)
