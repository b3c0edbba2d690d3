"""Masked-LM batches whose masks are chosen for the whole batch at once, in the collater (the `maelm` task's
default, `--masking batched`).

fairseq's MaskTokensDataset masks one sample at a time in numpy, reseeding the global RNG around each. Here each
row only draws its random numbers (keyed_random.KeyedRandom: a row's mask depends on (seed, epoch, index) and
nothing else, as with fairseq's); choosing, spreading and applying the masks are vectorised operations on the
padded (B, T) batch (torch, and numpy's sort, several times faster on CPU). The distribution is
MaskTokensDataset's, row for row:

* units: the tokens, or with --mask-whole-words the words (a word-start symbol and the tokens up to the next one).
  Every position is a candidate, <s> and </s> included, as in fairseq.
* how many: num = floor(p * n / L + u), u ~ U[0, 1) per row (n units, L = --mask-multiple-length): fairseq's
  probabilistic rounding. The count is floor(p n / L) or one more, never Bernoulli per position, and its
  expectation is exactly p n / L, fairseq's.
* which: a uniformly random subset of `num` units (the `num` smallest of n uniform keys) start a span of L units
  (with --mask-stdev: round(N(L, stdev)), at least 0), cut at the row's end; overlapping spans merge.
* how: each selected unit is left unchanged with probability --leave-unmasked-prob, replaced with probability
  --random-token-prob (one draw per token: uniform over the non-special symbols, or by count with
  --freq-weighted-replacement), and becomes <mask> otherwise.
* target: the original token at every selected position, pad elsewhere.
"""
import math

import numpy as np
import torch
from fairseq.data import FairseqDataset

from .keyed_random import MASK, KeyedRandom


class BatchMasker:
    """(tokens (B, T) right-padded, lengths (B,), item indices, epoch) -> (source, target)."""

    def __init__(self, dictionary, mask_idx, seed, mask_prob, leave_unmasked_prob=0.0, random_token_prob=0.0,
                 freq_weighted_replacement=False, word_starts=None, span_length=1, span_stdev=0.0):
        self.pad, self.mask_idx, self.random = dictionary.pad(), mask_idx, KeyedRandom(seed)
        self.mask_prob, self.span_length, self.span_stdev = mask_prob, span_length, span_stdev
        self.changed_prob = leave_unmasked_prob + random_token_prob  # selected, but not turned into <mask>
        self.left_share = leave_unmasked_prob / self.changed_prob if self.changed_prob else 0.0
        self.word_starts = word_starts
        self.cumulative = None
        if random_token_prob > 0:
            weights = np.array(dictionary.count if freq_weighted_replacement else [1] * len(dictionary), np.float64)
            weights[:dictionary.nspecial] = 0
            self.cumulative = torch.from_numpy(np.cumsum(weights))
            self.last_drawable = int(np.flatnonzero(weights)[-1])
        # uniform draws per unit: span-start keys, then (when used) changed-or-not, left-or-replaced, span length
        self.unit_streams = 1 + (self.changed_prob > 0) + (0 < self.left_share < 1) + (span_stdev > 0)

    def draws(self, indices, epoch, units, lengths, width, length):
        """Each row's numbers, in a fixed order that depends only on its own sizes: one for the rounding, then
        `unit_streams` x its units, then one per token when tokens are replaced at random."""
        rows = len(indices)
        per_unit = np.full((self.unit_streams, rows, width), 2.0)  # 2.0: padding sorts after every real key
        rounding = np.empty(rows)
        per_token = np.zeros((rows, length)) if self.cumulative is not None else None
        for b, (index, n, m) in enumerate(zip(indices, units, lengths)):
            rng = self.random.for_item(epoch, index, MASK)
            rounding[b] = rng.random()
            per_unit[:, b, :n] = rng.random((self.unit_streams, n))
            if per_token is not None:
                per_token[b, :m] = rng.random(m)
        return torch.from_numpy(rounding), torch.from_numpy(per_unit), per_token

    def __call__(self, tokens, lengths, indices, epoch):
        rows, length = tokens.shape
        real = torch.arange(length) < lengths[:, None]
        if self.word_starts is not None:
            starts = self.word_starts[tokens] & real
            unit_of_token = (starts.cumsum(1) - 1).clamp_(min=0)
            units = starts.sum(1)
        else:
            units = lengths
        width = int(units.max())
        rounding, per_unit, per_token = self.draws(indices, epoch, units.tolist(), lengths.tolist(), width, length)
        count = torch.floor(self.mask_prob * units / self.span_length + rounding).long()
        # the `count` smallest keys of a row: those up to its count-th smallest (numpy sorts ~8x faster than torch
        # on CPU; float64 keys do not tie in practice, and padding's 2.0 is never among them as count <= n)
        smallest = torch.from_numpy(np.sort(per_unit[0].numpy(), axis=1))
        threshold = smallest.gather(1, (count - 1).clamp(min=0)[:, None])
        selected = (per_unit[0] <= threshold) & (count > 0)[:, None]
        if self.span_length > 1 or self.span_stdev > 0:
            selected = self.spread(selected, units, per_unit[-1] if self.span_stdev > 0 else None)
        if self.changed_prob > 0:  # drawn per unit after the spans, as fairseq does
            changed = selected & (per_unit[1] < self.changed_prob)
            if 0 < self.left_share < 1:
                left = changed & (per_unit[2] < self.left_share)
            else:
                left = changed if self.left_share == 1 else torch.zeros_like(changed)
            replaced = changed & ~left
        if self.word_starts is not None:
            to_tokens = lambda x: x.gather(1, unit_of_token) & real  # noqa: E731
        else:
            to_tokens = lambda x: x  # noqa: E731
        selected = to_tokens(selected)
        target = torch.where(selected, tokens, self.pad)
        if self.changed_prob == 0:
            return tokens.masked_fill(selected, self.mask_idx), target
        source = tokens.masked_fill(selected & ~to_tokens(changed), self.mask_idx)
        replaced = to_tokens(replaced)
        if replaced.any():
            draws = torch.from_numpy(per_token)[replaced] * self.cumulative[-1]
            source[replaced] = torch.searchsorted(self.cumulative, draws, right=True).clamp_(max=self.last_drawable)
        return source, target

    def spread(self, starts, units, length_draws):
        """Units covered by spans of span_length (or N(span_length, span_stdev) rounded) from each start."""
        rows, width = starts.shape
        if length_draws is None:
            spans = torch.full((rows, width), self.span_length)
        else:
            normal = math.sqrt(2) * torch.erfinv(2 * length_draws - 1)  # padding's draws (2.0) give nan: unused
            spans = torch.round(self.span_length + self.span_stdev * normal).clamp_(min=0)
            spans = torch.where(starts, spans, 0.0).long()
        position = torch.arange(width).expand(rows, width)
        ends = torch.minimum(position + spans, units[:, None])
        opens = starts.long()
        edges = torch.zeros(rows, width + 1, dtype=torch.long)
        edges[:, :width] += opens
        edges.scatter_add_(1, ends, -opens)
        return edges.cumsum(1)[:, :width] > 0


class BatchMaskedLMDataset(FairseqDataset):
    """Blocks in, fairseq `masked_lm` batches out (the layout of its NestedDictionaryDataset), masked per batch."""

    def __init__(self, blocks, masker: BatchMasker, pad, bos):
        super().__init__()
        self.blocks, self.masker, self.pad, self.bos, self.epoch = blocks, masker, pad, bos, 1
        self._sizes = np.asarray(blocks.sizes, dtype=np.int64) + 1  # <s> and the block

    @property
    def can_reuse_epoch_itr_across_epochs(self):
        return True  # only the masks (and crops) change with the epoch, not the sizes

    def set_epoch(self, epoch, **unused):
        self.blocks.set_epoch(epoch)
        self.epoch = epoch

    def __len__(self):
        return len(self.blocks)

    @property
    def sizes(self):
        return self._sizes

    def num_tokens(self, index):
        return self._sizes[index]

    def num_tokens_vec(self, indices):
        return self._sizes[indices]

    def size(self, index):
        return self._sizes[index]

    def __getitem__(self, index):
        return {"id": index, "source": self.blocks[index]}

    def collater(self, samples):
        if not samples:
            return {}
        ids = [s["id"] for s in samples]
        lengths = [len(s["source"]) + 1 for s in samples]
        # <s> written once for the batch, rows copied in numpy: per row the cheapest a Python loop gets
        tokens = np.full((len(samples), max(lengths)), self.pad, dtype=np.int64)
        tokens[:, 0] = self.bos
        for row, sample, n in zip(tokens, samples, lengths):
            row[1:n] = sample["source"].numpy()
        tokens, lengths = torch.from_numpy(tokens), torch.tensor(lengths)
        source, target = self.masker(tokens, lengths, ids, self.epoch)
        return {"id": torch.tensor(ids), "nsentences": len(samples), "ntokens": int(lengths.sum()),
                "net_input": {"src_tokens": source, "src_lengths": lengths}, "target": target}
