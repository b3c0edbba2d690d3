"""Criterion `maelm`: summed cross-entropy over the predicted positions only.

Logs, besides fairseq's loss in bits: masked-token accuracy, and how many real tokens the encoder processed versus
the full-length token count (the saving of deleting [MASK] from the encoder input).

Collapse indicator, every batch (train and valid): `enc_erank`, the effective rank (maelm-rank's definition,
analysis/effective_rank.py: uncentered, exp of the entropy of the normalized singular values) of the last encoder
layer's outputs at up to COLLAPSE_ROWS real-token positions (kept, not pad, not <mask>) taken at a fixed stride
over the batch, and `enc_cos`, their mean pairwise cosine similarity. A collapsing encoder shows enc_erank -> 1 and
enc_cos -> 1 in the log as it happens. Computed without gradients and without random numbers (the training RNG
stream, hence exact resume, is untouched); both are averages over the batches of the log interval. Cost: ~0.5 % of a
maelm_tiny CPU step, so every batch (docs/analysis.md). Fine-tuning criteria do not log it.

`--fused-head-loss` (opt-in, our model only): the LM head's output projection, the cross-entropy and the accuracy
in one pass over the (predicted positions x vocabulary) logits (modules/linear_cross_entropy.py), instead of
fairseq's log-softmax + NLL on materialised logits: the same loss and gradients up to float rounding, several
(N, V) tensors fewer per step (3ML predicts half of all positions, so they are large).

A non-finite loss stops training with FloatingPointError naming the batch's sample ids (no silent divergence).
The loss is computed from fp32 log-probabilities whatever the model's precision, so under --fp16 it is not the
scaled loss: a loss-scale overflow shows up later, in the gradients, where fairseq's dynamic loss scaler handles
it (OverflowError -> smaller scale), and is never taken for a NaN loss here.
"""
import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from fairseq import metrics, modules
from fairseq.criterions import FairseqCriterion, register_criterion
from fairseq.dataclass import FairseqDataclass
from fairseq.tasks.masked_lm import MaskedLMTask

from ..analysis.effective_rank import effective_rank_tensor
from ..errors import UserInputError
from ..models.checks import FINETUNING_CRITERIA, arch_name, task_name
from ..models.maelm import MaelmEncoder
from ..modules.linear_cross_entropy import linear_cross_entropy
from ..modules.model_extra import ModelExtra

COLLAPSE_ROWS = 256  # real-token rows per batch for enc_erank / enc_cos (an SVD of COLLAPSE_ROWS x hidden)


@dataclass
class MaelmCriterionConfig(FairseqDataclass):
    fused_head_loss: bool = field(default=False, metadata={
        "help": "compute the LM head's output projection, cross-entropy and accuracy in one pass over the logits "
                "(same loss and gradients up to float rounding, fewer (positions x vocabulary) tensors; our model "
                "only). Off: fairseq's log-softmax + NLL"})


@register_criterion("maelm", dataclass=MaelmCriterionConfig)
class MaelmCriterion(FairseqCriterion):
    def __init__(self, task, fused_head_loss=False):
        super().__init__(task)
        self.fused_head_loss = fused_head_loss
        if not isinstance(task, MaskedLMTask):  # other tasks build the encoder alone, without the LM head
            raise UserInputError(f"--criterion maelm: predicts masked tokens, but --task {task_name(task)} is not a "
                                 f"masked-LM task — pretrain with --task maelm (or masked_lm), or fine-tune with the "
                                 f"task's own criterion ({FINETUNING_CRITERIA})")

    def forward(self, model, sample, reduce=True):
        target = sample["target"]
        predicted = target.ne(self.padding_idx)
        sample_size = int(predicted.sum())
        targets = target[predicted]
        # An all-False mask is fine: the head sees zero rows and the loss is a (differentiable) zero.
        if self.fused_head_loss:
            if not isinstance(getattr(model, "encoder", None), MaelmEncoder):
                raise UserInputError(f"--fused-head-loss: fuses the LM head of the maelm model, but --arch "
                                     f"{arch_name(model.args)} is another model; drop --fused-head-loss")
            features, extra = model(**sample["net_input"], masked_tokens=predicted, project_to_vocab=False)
            head = model.encoder.lm_head
            loss, n_correct = linear_cross_entropy(features, head.weight, head.bias, targets)
        else:
            logits, extra = model(**sample["net_input"], masked_tokens=predicted)
            loss = modules.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), reduction="sum",
                                         ignore_index=self.padding_idx)
            # right where the target's logit is the row maximum (argmax differs only on exact ties); amax reads
            # the logits once without indices: ~4x cheaper than max(-1) on CPU at 3ML's (N, V)
            n_correct = (logits.gather(1, targets.unsqueeze(1)).squeeze(1) >= logits.amax(-1)).sum()
        if not torch.isfinite(loss):
            raise FloatingPointError(non_finite_loss_message(loss, sample))
        full_tokens = sample["net_input"]["src_tokens"].ne(self.padding_idx).sum()
        ours = isinstance(extra, ModelExtra)  # fairseq's own RoBERTa: a dict, and its encoder saw every token
        logging_output = {
            "loss": loss.detach(),
            "ntokens": sample["ntokens"],
            "nsentences": sample["nsentences"],
            "sample_size": sample_size,
            "n_correct": n_correct.detach(),
            "encoder_tokens": (extra.encoder_tokens if ours else full_tokens).detach(),
            "full_tokens": full_tokens.detach(),
        }
        if ours:
            logging_output.update(encoder_collapse_logs(extra))
        return loss, sample_size, logging_output

    @staticmethod
    def reduce_metrics(logging_outputs) -> None:
        def total(key):
            return sum(float(log.get(key, 0)) for log in logging_outputs)

        sample_size = total("sample_size")
        denominator = max(sample_size, 1.0)
        metrics.log_scalar("loss", total("loss") / denominator / math.log(2), sample_size, round=3)
        metrics.log_derived("ppl", lambda meters: 2 ** meters["loss"].avg)
        metrics.log_scalar("accuracy", 100.0 * total("n_correct") / denominator, sample_size, round=2)
        metrics.log_scalar("enc_tok_frac", total("encoder_tokens") / max(total("full_tokens"), 1.0),
                           total("full_tokens"), round=3)
        batches = total("enc_stat_batches")  # sums over batches and workers, then one mean per batch
        if batches > 0:
            metrics.log_scalar("enc_erank", total("enc_erank_sum") / batches, batches, round=2)
            metrics.log_scalar("enc_cos", total("enc_cos_sum") / batches, batches, round=3)

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        return True


def encoder_collapse_logs(extra: ModelExtra):
    """enc_erank / enc_cos sums and their batch count for the logging output, from the encoder output of a
    masked-LM forward. Always the same keys and types (tensors on the model's device, an int count), as fairseq's
    summed all-reduce over workers needs."""
    out = extra.encoder_out
    with torch.no_grad():
        rows = sample_real_rows(out.detach(), extra.encoder_real)
        if rows.size(0) < 2:
            zero = out.new_zeros((), dtype=torch.float64)
            return {"enc_erank_sum": zero, "enc_cos_sum": zero, "enc_stat_batches": 0}
        erank, cos = collapse_stats(rows)
    return {"enc_erank_sum": erank, "enc_cos_sum": cos, "enc_stat_batches": 1}


def sample_real_rows(encoder_out, real, max_rows=COLLAPSE_ROWS):
    """Up to `max_rows` rows of encoder_out (B, T, C) where real (B, T) holds, at a fixed stride over the batch's
    real tokens in (row, position) order: deterministic, no random numbers."""
    index = real.flatten().nonzero().squeeze(1)
    stride = max(1, -(-index.numel() // max_rows))
    return encoder_out.flatten(0, 1)[index[::stride]]


def collapse_stats(rows):
    """(effective rank, mean pairwise cosine similarity) of rows (N >= 2, C), in fp32, as 0-dim tensors."""
    rows = rows.float()
    erank = effective_rank_tensor(torch.linalg.svdvals(rows))
    unit = F.normalize(rows, dim=-1)
    n = rows.size(0)
    cos = (unit.sum(0).pow(2).sum() - unit.pow(2).sum()) / (n * (n - 1))  # off-diagonal mean of unit @ unit.T
    return erank, cos.double()


def non_finite_loss_message(loss, sample, shown=20):
    ids = sample.get("id")
    ids = [] if ids is None else ids.tolist()
    listed = ", ".join(map(str, ids[:shown])) + (f", ... ({len(ids)} in all)" if len(ids) > shown else "")
    return (f"non-finite loss ({loss.item()}) on the batch with sample ids [{listed}] (dataset indices of the "
            f"split being trained); the model or the data produced inf/nan in the forward pass, not a loss-scale "
            f"overflow: lower --lr, add --clip-norm, or inspect those samples")
