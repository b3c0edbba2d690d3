"""The GLUE metrics beyond accuracy, on plain Python lists: binary F1 (MRPC, QQP), Matthews correlation (CoLA),
Pearson and Spearman correlation (STS-B). Definitions as in scikit-learn / scipy, including their conventions
for degenerate inputs (0 when a denominator vanishes, average ranks for ties)."""
import math
from typing import Sequence


def binary_counts(predictions: Sequence[int], targets: Sequence[int], positive: int):
    tp = sum(p == positive and t == positive for p, t in zip(predictions, targets))
    fp = sum(p == positive and t != positive for p, t in zip(predictions, targets))
    fn = sum(p != positive and t == positive for p, t in zip(predictions, targets))
    tn = len(targets) - tp - fp - fn
    return tp, fp, fn, tn


def f1(predictions, targets, positive: int = 1) -> float:
    tp, fp, fn, _ = binary_counts(predictions, targets, positive)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def matthews_corrcoef(predictions, targets, positive: int = 1) -> float:
    tp, fp, fn, tn = binary_counts(predictions, targets, positive)
    denominator = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return (tp * tn - fp * fn) / denominator if denominator else 0.0


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    n = len(x)
    mean_x, mean_y = sum(x) / n, sum(y) / n
    cov = sum((a - mean_x) * (b - mean_y) for a, b in zip(x, y))
    var_x = sum((a - mean_x) ** 2 for a in x)
    var_y = sum((b - mean_y) ** 2 for b in y)
    return cov / math.sqrt(var_x * var_y) if var_x and var_y else 0.0


def average_ranks(values: Sequence[float]):
    """1-based ranks; tied values share the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    return pearson(average_ranks(x), average_ranks(y))
