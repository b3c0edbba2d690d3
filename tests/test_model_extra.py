"""What the maelm model hands the criterion beside its logits (ModelExtra), and what fairseq's own code reads of it."""
import argparse

import pytest
import torch
from fairseq.models.roberta import RobertaHubInterface, RobertaModel
from fairseq.models.roberta.model import base_architecture

from maelm_fairseq.modules.model_extra import ModelExtra
from maelm_fairseq.pretrain.criterion import MaelmCriterion
from model_factory import TINY, batch, build, pretraining_task


@pytest.fixture(scope="module")
def task():
    return pretraining_task()


@pytest.mark.parametrize("decoder_layers", [1, 0])
def test_masked_lm_forward_reports_what_the_encoder_processed(task, decoder_layers):
    model = build("maelm_tiny", task, **TINY, decoder_layers=decoder_layers).eval()
    src, target = batch(task)
    _, extra = model(src, masked_tokens=target.ne(1))
    assert isinstance(extra, ModelExtra) and extra.inner_states is None
    real = src.ne(1) & src.ne(task.mask_idx)
    entered = real if decoder_layers else src.ne(1)  # without a decoder <mask> goes through the encoder
    assert int(extra.encoder_tokens) == int(entered.sum())
    assert int(extra.encoder_real.sum()) == int(real.sum())
    width = int(real.sum(1).max()) if decoder_layers else src.size(1)
    assert extra.encoder_out.shape == (src.size(0), width, TINY["encoder_embed_dim"])


def test_fairseq_hub_interface_reads_inner_states_in_its_layout(task):
    """RobertaHubInterface.extract_features takes extra["inner_states"] as (T, B, C) and returns them (B, T, C)."""
    model = build("maelm_tiny", task, **TINY).eval()
    src, _ = batch(task, mask_prob=0.0)
    features, extra = model(src, features_only=True, return_all_hiddens=True)
    assert extra.encoder_out is None and int(extra.encoder_tokens) == int(src.ne(1).sum())
    with pytest.raises(KeyError):
        extra["logits"]
    hub = RobertaHubInterface(argparse.Namespace(bpe=None), task, model)
    states = hub.extract_features(src, return_all_hiddens=True)
    expected = model.encoder.sentence_encoder(src, return_all_hiddens=True)[1]
    assert len(states) == TINY["encoder_layers"] + 1
    for got, want in zip(states, expected):
        assert torch.equal(got, want)
    assert torch.equal(states[-1], features)


def test_criterion_under_fairseq_roberta_counts_every_token_and_logs_no_collapse_stats(task):
    args = argparse.Namespace(arch="roberta", max_positions=64, **TINY)
    base_architecture(args)
    roberta = RobertaModel.build_model(args, task)
    src, target = batch(task)
    sample = {"net_input": {"src_tokens": src}, "target": target, "ntokens": int(src.ne(1).sum()), "nsentences": 4}
    _, _, log = MaelmCriterion(task)(roberta, sample)
    assert int(log["encoder_tokens"]) == int(log["full_tokens"]) == int(src.ne(1).sum())
    assert "enc_stat_batches" not in log
