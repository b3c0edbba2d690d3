"""Welch's two-sample t test with the standard library only (no scipy in the project's environment).

    welch([a1, a2, ...], [b1, b2, ...]) -> {"diff", "t", "df", "p"}

t = (mean_a - mean_b) / sqrt(s_a^2 / n_a + s_b^2 / n_b) with sample variances, df by Welch-Satterthwaite, and the
two-sided p from Student's t distribution: p = I_{df / (df + t^2)}(df / 2, 1 / 2), the regularized incomplete beta
function evaluated by its continued fraction (Numerical Recipes, 2nd ed., §6.4).
"""
import math
import statistics

_TINY = 1e-300


def _beta_continued_fraction(x, a, b, eps=1e-14, max_terms=500):
    """Continued fraction of the incomplete beta function (modified Lentz's method)."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, max_terms + 1):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < eps:
            break
    return h


def regularized_beta(x, a, b):
    """I_x(a, b) for 0 <= x <= 1, a, b > 0."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(1.0 - x, b, a) / b


def t_two_sided_p(t, df):
    """P(|T| >= |t|) for Student's t with df degrees of freedom (df may be fractional)."""
    if math.isinf(t):
        return 0.0
    return regularized_beta(df / (df + t * t), df / 2.0, 0.5)


def welch(a, b):
    """Welch's t test of mean(a) - mean(b); None when either sample has fewer than 2 values."""
    if len(a) < 2 or len(b) < 2:
        return None
    diff = statistics.fmean(a) - statistics.fmean(b)
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    if va + vb == 0.0:  # no spread at all: any difference is exact
        t = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        return {"diff": diff, "t": t, "df": float(len(a) + len(b) - 2), "p": 1.0 if diff == 0 else 0.0}
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va * va / (len(a) - 1) + vb * vb / (len(b) - 1))
    return {"diff": diff, "t": t, "df": df, "p": t_two_sided_p(t, df)}
