"""Criterion `maelm`: summed cross-entropy over the predicted positions only.

Logs, besides fairseq's loss in bits: masked-token accuracy, and how many real tokens the encoder processed versus
the full-length token count (the saving of deleting [MASK] from the encoder input).

A non-finite loss stops training with FloatingPointError naming the batch's sample ids (no silent divergence).
The loss is computed from fp32 log-probabilities whatever the model's precision, so under --fp16 it is not the
scaled loss: a loss-scale overflow shows up later, in the gradients, where fairseq's dynamic loss scaler handles
it (OverflowError -> smaller scale), and is never taken for a NaN loss here.
"""
import math

import torch
from fairseq import metrics, modules
from fairseq.criterions import FairseqCriterion, register_criterion


@register_criterion("maelm")
class MaelmCriterion(FairseqCriterion):
    def forward(self, model, sample, reduce=True):
        target = sample["target"]
        predicted = target.ne(self.padding_idx)
        sample_size = int(predicted.sum())
        # An all-False mask is fine: the head sees zero rows and the loss is a (differentiable) zero.
        logits, extra = model(**sample["net_input"], masked_tokens=predicted)
        targets = target[predicted]
        loss = modules.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), reduction="sum",
                                     ignore_index=self.padding_idx)
        if not torch.isfinite(loss):
            raise FloatingPointError(non_finite_loss_message(loss, sample))
        full_tokens = sample["net_input"]["src_tokens"].ne(self.padding_idx).sum()
        logging_output = {
            "loss": loss.detach(),
            "ntokens": sample["ntokens"],
            "nsentences": sample["nsentences"],
            "sample_size": sample_size,
            "n_correct": (logits.argmax(-1) == targets).sum().detach(),
            "encoder_tokens": extra.get("encoder_tokens", full_tokens).detach(),
            "full_tokens": full_tokens.detach(),
        }
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

    @staticmethod
    def logging_outputs_can_be_summed() -> bool:
        return True


def non_finite_loss_message(loss, sample, shown=20):
    ids = sample.get("id")
    ids = [] if ids is None else ids.tolist()
    listed = ", ".join(map(str, ids[:shown])) + (f", ... ({len(ids)} in all)" if len(ids) > shown else "")
    return (f"non-finite loss ({loss.item()}) on the batch with sample ids [{listed}] (dataset indices of the "
            f"split being trained); the model or the data produced inf/nan in the forward pass, not a loss-scale "
            f"overflow: lower --lr, add --clip-norm, or inspect those samples")
