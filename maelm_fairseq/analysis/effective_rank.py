"""Effective rank of a set of representations, computed from streamed Gram matrices (bounded memory).

For a representation matrix X (N tokens x C dims) with singular values s_1 >= ... >= s_C:

- effective rank (Roy & Vetterli, 2007): exp(H(p)) with p_i = s_i / sum_j s_j and H the Shannon entropy
  (natural log). It is C for an orthogonal X (all s_i equal) and 1 for a rank-1 X. MAE-LM (Meng et al., ICLR 2024,
  arXiv 2302.02060) measures the rank of token representations in its Section 2 and Figure 1; we have not checked
  its exact formula against this one, the usual definition.
- energy count k(q): the fewest singular values whose squares hold a fraction q of sum_i s_i^2 (= ||X||_F^2).

Singular values come from the C x C Gram matrix G = X^T X (s_i^2 = eigenvalues of G), so X never has to be held:
`Gram.update(x)` adds the rows of each batch; memory is C^2 float64 per accumulator, whatever N is.
"""
from typing import Dict, Sequence

import torch

ENERGY_FRACTIONS = (0.9, 0.95, 0.99)


def effective_rank(singular_values: torch.Tensor) -> float:
    return float(effective_rank_tensor(singular_values))


def effective_rank_tensor(singular_values: torch.Tensor) -> torch.Tensor:
    """effective_rank as a 0-dim float64 tensor on the input's device, without a host sync (the training
    criterion's collapse indicator uses it every batch). 0 when all singular values are 0."""
    s = singular_values.double().clamp(min=0)
    total = s.sum()
    p = s / total.clamp(min=torch.finfo(s.dtype).tiny)
    erank = torch.exp(-torch.special.xlogy(p, p).sum())  # xlogy(0, 0) = 0: zero singular values add nothing
    return torch.where(total > 0, erank, torch.zeros_like(erank))


def energy_count(singular_values: torch.Tensor, fraction: float) -> int:
    """Fewest singular values holding `fraction` of the energy sum(s^2)."""
    energy = singular_values.double().clamp(min=0).pow(2).sort(descending=True).values
    total = energy.sum()
    if total <= 0:
        return 0
    cumulative = energy.cumsum(0) / total
    # tolerance: a fraction reached up to rounding counts as reached (identity: 9 of 10 values hold exactly 0.9)
    return int((cumulative < fraction - 1e-9).sum()) + 1


def spectrum_stats(singular_values: torch.Tensor, fractions: Sequence[float] = ENERGY_FRACTIONS) -> Dict[str, float]:
    out = {"effective_rank": effective_rank(singular_values)}
    for q in fractions:
        out[f"rank{round(q * 100)}"] = energy_count(singular_values, q)
    return out


class Gram:
    """Running X^T X (float64) of the rows of every batch given to `update`."""

    def __init__(self, dim: int):
        self.matrix = torch.zeros(dim, dim, dtype=torch.float64)
        self.count = 0

    def update(self, rows: torch.Tensor):
        rows = rows.detach().to("cpu", torch.float64).reshape(-1, self.matrix.size(0))
        self.matrix += rows.T @ rows
        self.count += rows.size(0)

    def eigh(self):
        """Eigenvalues (descending, >= 0) and eigenvectors (columns) of the Gram matrix."""
        values, vectors = torch.linalg.eigh(self.matrix)
        return values.flip(0).clamp(min=0), vectors.flip(1)

    def singular_values(self) -> torch.Tensor:
        return self.eigh()[0].sqrt()


def mask_subspace_stats(real: Gram, mask: Gram, fraction: float = 0.99) -> Dict[str, float]:
    """How [MASK] representations sit relative to the real tokens' (Theorem 2.2 / Lemma 2.1 of MAE-LM).

    - mask_energy_outside_real: share of the [MASK] representations' energy outside the subspace holding `fraction`
      of the real-token energy (0 = masks live inside the real tokens' span; the theorem says some must not).
    - mask_dominant_dims: principal directions of the per-token second moments (G_real / N_real + G_mask / N_mask),
      among those holding `fraction` of its energy, along which an average [MASK] token has more energy than an
      average real token: the dimensions used predominantly by [MASK] representations. mask_dominant_energy is the
      share of the [MASK] energy they hold.
    """
    if real.count == 0 or mask.count == 0:
        return {"mask_energy_outside_real": float("nan"), "mask_dominant_dims": 0,
                "mask_dominant_energy": float("nan")}
    values, vectors = real.eigh()
    k = energy_count(values.sqrt(), fraction)
    basis = vectors[:, :k]
    mask_total = torch.trace(mask.matrix)
    inside = torch.trace(basis.T @ mask.matrix @ basis)
    outside = float(1 - inside / mask_total) if mask_total > 0 else float("nan")

    m_real, m_mask = real.matrix / real.count, mask.matrix / mask.count
    values, vectors = torch.linalg.eigh(m_real + m_mask)
    values, vectors = values.flip(0).clamp(min=0), vectors.flip(1)
    k = energy_count(values.sqrt(), fraction)
    vectors = vectors[:, :k]
    mask_energy = (vectors * (m_mask @ vectors)).sum(0)
    real_energy = (vectors * (m_real @ vectors)).sum(0)
    dominant = mask_energy > real_energy
    dominant_share = float(mask_energy[dominant].sum() / torch.trace(m_mask)) if torch.trace(m_mask) > 0 else 0.0
    return {"mask_energy_outside_real": outside, "mask_dominant_dims": int(dominant.sum()),
            "mask_dominant_energy": dominant_share}
