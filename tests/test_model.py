"""What must be true of the maelm model family (docs/design.md), with deletion inside the model."""
import math

import pytest
import torch
from fairseq.models.roberta import RobertaModel

from model_factory import TINY, batch, build, build_squad, finetuning_task, pretraining_task
from maelm_fairseq.modules.relative_position import relative_position_bucket

torch.manual_seed(0)


def capture(module):
    """Record (args, kwargs, output) of every call of `module`."""
    calls = []
    module.register_forward_hook(lambda m, a, kw, out: calls.append((a, kw, out)), with_kwargs=True)
    return calls


@pytest.fixture
def task():
    return pretraining_task()


def test_encoder_runs_on_kept_tokens_only_and_never_sees_mask(task):
    model = build("maelm_tiny", task, **TINY).eval()
    src, target = batch(task)
    calls = capture(model.encoder.sentence_encoder)
    model(src, masked_tokens=target.ne(1))
    enc_tokens = calls[0][0][0]
    kept = (src.ne(task.dictionary.pad()) & src.ne(task.mask_idx)).sum(1)
    assert enc_tokens.shape[1] == int(kept.max()) < src.shape[1]
    assert enc_tokens.ne(task.dictionary.pad()).sum(1).tolist() == kept.tolist()
    assert not (enc_tokens == task.mask_idx).any()


@pytest.mark.parametrize("rel_pos", [0, 1])
def test_deletion_equals_key_masking_with_original_positions(task, rel_pos):
    model = build("maelm_tiny", task, **TINY, rel_pos=rel_pos).eval()
    src, target = batch(task)
    pad = task.dictionary.pad()
    calls = capture(model.encoder.sentence_encoder)
    model(src, masked_tokens=target.ne(pad))
    enc_tokens, enc_out = calls[0][0][0], calls[0][2][0]

    # Reference: the full-length sequence, <mask> slots turned into padding keys, original positions.
    encoder = model.encoder.sentence_encoder
    positions = encoder.make_positions(src)
    as_keys_masked = src.masked_fill(src.eq(task.mask_idx), pad)
    reference, _ = encoder(as_keys_masked, positions=positions)
    keep = as_keys_masked.ne(pad)
    for row in range(src.shape[0]):
        n = int(keep[row].sum())
        torch.testing.assert_close(enc_out[row, :n], reference[row][keep[row]], atol=1e-5, rtol=1e-5)
        assert enc_tokens[row, :n].tolist() == src[row][keep[row]].tolist()


def test_relative_position_buckets_match_maelm():
    rel = torch.arange(512)[None, :] - torch.arange(512)[:, None]
    table = relative_position_bucket(rel, 64, 128)
    assert (table.min(), table.max(), table.unique().numel()) == (0, 62, 63)
    assert (table[0, 0], table[0, 1], table[1, 0]) == (31, 32, 30)
    unsigned = lambda d: int(relative_position_bucket(torch.tensor([d]), 64, 128)) - 31  # noqa: E731
    assert [unsigned(d) for d in (16, 17, 18, 19, 110, 111, 500)] == [16, 17, 17, 18, 30, 31, 31]
    assert [unsigned(-d) for d in (18, 19, 111)] == [-17, -18, -31]
    large = relative_position_bucket(rel, 128, 256)
    assert (large.min(), large.max(), large[0, 0]) == (0, 126, 63)
    assert int(relative_position_bucket(torch.tensor([238]), 128, 256)) - 63 == 62
    assert int(relative_position_bucket(torch.tensor([239]), 128, 256)) - 63 == 63


def test_rel_pos_bias_uses_original_positions(task):
    model = build("maelm_tiny", task, **TINY).eval()
    bias_module = model.encoder.sentence_encoder.rel_pos_bias
    positions = torch.tensor([[2, 3, 7, 9]])
    bias = bias_module(positions)
    h = 1
    for i in range(4):
        for j in range(4):
            bucket = relative_position_bucket(positions[0, j] - positions[0, i], 32, 64)
            assert bias[0, h, i, j] == bias_module.weight[bucket, h]


@pytest.mark.parametrize("mask_embedding", ["tied", "learned"])
def test_decoder_input_rows(task, mask_embedding):
    model = build("maelm_tiny", task, **TINY, mask_embedding=mask_embedding).eval()
    src, target = batch(task)
    pad = task.dictionary.pad()
    enc_calls = capture(model.encoder.sentence_encoder)
    dec_calls = capture(model.encoder.decoder)
    model(src, masked_tokens=target.ne(pad))
    enc_out, dec_in = enc_calls[0][2][0], dec_calls[0][0][0]
    expected_mask = (model.encoder.mask_embedding if mask_embedding == "learned"
                     else model.encoder.sentence_encoder.embed_tokens.weight[task.mask_idx])
    for row in range(src.shape[0]):
        kept = (src[row].ne(pad) & src[row].ne(task.mask_idx)).nonzero().flatten()
        torch.testing.assert_close(dec_in[row, kept], enc_out[row, : len(kept)])
        masked = src[row].eq(task.mask_idx).nonzero().flatten()
        assert len(masked) > 0
        torch.testing.assert_close(dec_in[row, masked], expected_mask.expand(len(masked), -1))
        assert (dec_in[row, src[row].eq(pad)] == 0).all()


def test_lm_head_is_tied_and_only_predicted_positions_get_logits(task):
    model = build("maelm_tiny", task, **TINY)
    assert model.encoder.lm_head.weight is model.encoder.sentence_encoder.embed_tokens.weight
    src, target = batch(task)
    predicted = target.ne(task.dictionary.pad())
    logits, extra = model(src, masked_tokens=predicted)
    assert logits.shape == (int(predicted.sum()), len(task.dictionary))
    assert int(extra["encoder_tokens"]) == int((src.ne(1) & src.ne(task.mask_idx)).sum())


@pytest.mark.parametrize("overrides", [
    dict(),  # MAE-LM shape: self decoder, tied mask, rel-pos
    dict(decoder_type="cross", mask_embedding="learned", rel_pos=0),
    dict(decoder_type="self", decoder_embed_dim=48, decoder_ffn_embed_dim=96, decoder_attention_heads=3),
    dict(decoder_layers=0),
    dict(decoder_rel_pos=1, rel_pos_init="local"),
])
def test_every_parameter_gets_gradient(task, overrides):
    model = build("maelm_tiny", task, **{**TINY, **overrides})
    src, target = batch(task)
    logits, _ = model(src, masked_tokens=target.ne(1))
    torch.nn.functional.cross_entropy(logits, target[target.ne(1)]).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_mask_row_gets_gradient_only_through_decoder_fill_and_softmax(task):
    """The tied <mask> row of the input embedding is read twice, as the fill of masked slots before the decoder and
    as an output row of the tied LM head: its gradient is those two parts and nothing from the encoder's input."""
    model = build("maelm_tiny", task, **TINY)
    lookups = capture(model.encoder.sentence_encoder.embed_tokens)
    decoder_calls = capture(model.encoder.decoder)
    head_features = capture(model.encoder.lm_head.layer_norm)  # what the tied output projection multiplies
    src, target = batch(task)
    predicted = target.ne(1)
    logits, _ = model(src, masked_tokens=predicted)
    assert not any((call[0][0] == task.mask_idx).any() for call in lookups)
    decoder_input = decoder_calls[0][0][0]
    decoder_input.retain_grad()
    logits.retain_grad()
    torch.nn.functional.cross_entropy(logits, target[predicted]).backward()

    through_fill = decoder_input.grad[src.eq(task.mask_idx)].sum(0)
    through_softmax = logits.grad[:, task.mask_idx] @ head_features[0][2].detach()
    assert through_fill.abs().sum() > 0 and through_softmax.abs().sum() > 0
    mask_row = model.encoder.sentence_encoder.embed_tokens.weight.grad[task.mask_idx]
    torch.testing.assert_close(mask_row, through_fill + through_softmax, atol=1e-6, rtol=1e-5)


def test_initial_loss_is_log2_vocab(task):
    from maelm_fairseq.pretrain.criterion import MaelmCriterion

    big = pretraining_task(vocab=2000)
    model = build("maelm_tiny", big, **TINY).eval()
    src, target = batch(big, rows=8, length=64)
    sample = {"net_input": {"src_tokens": src}, "target": target, "ntokens": int(src.ne(1).sum()), "nsentences": 8}
    loss, sample_size, log = MaelmCriterion(big)(model, sample)
    assert sample_size == int(target.ne(1).sum())
    assert abs(loss.item() / sample_size / math.log(2) - math.log2(len(big.dictionary))) < 0.1


def test_batch_without_predicted_tokens(task):
    from fairseq import metrics

    from maelm_fairseq.pretrain.criterion import MaelmCriterion

    model = build("maelm_tiny", task, **TINY)
    src, _ = batch(task, mask_prob=0.0)
    target = torch.full_like(src, 1)
    sample = {"net_input": {"src_tokens": src}, "target": target, "ntokens": 10, "nsentences": 4}
    loss, sample_size, log = MaelmCriterion(task)(model, sample)
    assert sample_size == 0 and loss.item() == 0.0
    loss.backward()  # a zero loss still reaches the graph: no DDP unused-parameter error on such a batch
    with metrics.aggregate() as agg:
        MaelmCriterion.reduce_metrics([log])
    assert agg.get_smoothed_values()["loss"] == 0.0


def roberta_args(**extra):
    import argparse

    from fairseq.models.roberta.model import base_architecture

    args = argparse.Namespace(arch="roberta", max_positions=64, **TINY, **extra)
    base_architecture(args)
    return args


def test_decoder_layers_0_reproduces_fairseq_roberta(task):
    torch.manual_seed(1)
    roberta = RobertaModel.build_model(roberta_args(), task).eval()
    ours = build("maelm_tiny", task, **TINY, decoder_layers=0, rel_pos=0, max_positions=64).eval()
    ours.load_state_dict(roberta.state_dict(), strict=True)
    src, target = batch(task)
    predicted = target.ne(1)
    torch.testing.assert_close(ours(src, masked_tokens=predicted)[0], roberta(src, masked_tokens=predicted)[0],
                               atol=1e-5, rtol=1e-5)
    ours_features = ours(src, features_only=True)[0]
    roberta_features = roberta(src, features_only=True)[0]
    keep = src.ne(1)
    torch.testing.assert_close(ours_features[keep], roberta_features[keep], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("arch", ["maelm_tiny", "threeml_cross_base"])
def test_finetuning_model_loads_pretraining_checkpoint_strictly(task, arch):
    dims = TINY if arch == "maelm_tiny" else dict(TINY, decoder_embed_dim=48)
    pretrained = build(arch, task, **dims)
    finetune = build(arch, finetuning_task(task), **dims)
    assert finetune.encoder.decoder is None and finetune.encoder.lm_head is None
    finetune.register_classification_head("sentence_classification_head", num_classes=2)
    state = pretrained.state_dict()
    finetune.load_state_dict(state, strict=True)  # fairseq's load: upgrade_state_dict_named, then strict
    assert not any(k.startswith(("encoder.decoder", "encoder.lm_head", "encoder.mask_embedding"))
                   for k in finetune.state_dict())
    for name, tensor in finetune.encoder.sentence_encoder.state_dict().items():
        assert torch.equal(tensor, pretrained.encoder.sentence_encoder.state_dict()[name])
    logits, _ = finetune(batch(task)[0], classification_head_name="sentence_classification_head")
    assert logits.shape == (4, 2)


def layer_params(c, f, cross=False):
    """Post-LN layer: q/k/v/out (4c^2 + 4c), two LayerNorms (4c), FFN (2cf + f + c); cross adds attention + LN."""
    return 4 * c * c + 2 * c * f + 9 * c + f + (4 * c * c + 6 * c if cross else 0)


def expected_params(v, c=768, f=3072, layers=12, dec_layers=0, cross=False, rel_bins=0, heads=12, learned_mask=False,
                    positions=512, pad=1):
    rows = positions + pad + 1  # fairseq's learned positions keep pad + 1 offset rows
    encoder = v * c + rows * c + 2 * c + layers * layer_params(c, f) + rel_bins * heads
    lm_head = c * c + c + 2 * c + v  # dense, LayerNorm, output bias (weight tied to the embedding)
    decoder = (rows * c + 2 * c + dec_layers * layer_params(c, f, cross)) if dec_layers else 0
    return encoder + lm_head + decoder + (c if learned_mask else 0)


@pytest.mark.parametrize("arch,expected", [
    ("maelm_base", dict(dec_layers=4, rel_bins=64)),
    ("maelm_mlm_base", dict(rel_bins=64)),
    ("maelm_roberta_base", dict()),
    ("threeml_self_base", dict(dec_layers=2, learned_mask=True)),
    ("threeml_cross_base", dict(dec_layers=2, cross=True, learned_mask=True)),
])
def test_parameter_counts_of_base_archs(arch, expected):
    task = pretraining_task(vocab=1000)
    task.cfg.tokens_per_sample = 512
    model = build(arch, task)
    v = len(task.dictionary)
    assert sum(p.numel() for p in model.parameters()) == expected_params(v, **expected)
    if arch == "maelm_base":  # the MAE-LM code's base model, counted from its module shapes (512-row position
        # tables); ours have fairseq's 2 offset rows more in each of the encoder's and decoder's tables
        assert expected_params(v, **expected) == 769 * v + 114_788_352 + 4 * 768


def test_self_and_cross_decoders_differ(task):
    self_model = build("maelm_tiny", task, **TINY, decoder_type="self")
    cross_model = build("maelm_tiny", task, **TINY, decoder_type="cross")
    assert not any("encoder_attn" in n for n, _ in self_model.named_parameters())
    assert any("encoder_attn" in n for n, _ in cross_model.named_parameters())
    cross_model.eval()
    src, target = batch(task)
    before = cross_model(src, masked_tokens=target.ne(1))[0]
    with torch.no_grad():  # cutting the cross-attention path must change the prediction
        for layer in cross_model.encoder.decoder.layers:
            layer.encoder_attn.out_proj.weight.zero_()
            layer.encoder_attn.out_proj.bias.zero_()
    assert not torch.allclose(before, cross_model(src, masked_tokens=target.ne(1))[0])


def test_decoder_has_no_dropout_by_default_and_flag_enables_it(task):
    model = build("maelm_tiny", task, **dict(TINY, dropout=0.1)).train()
    src, target = batch(task)
    dec_calls = capture(model.encoder.decoder)
    torch.manual_seed(0)
    model(src, masked_tokens=target.ne(1))
    x = dec_calls[0][0]
    outputs = [model.encoder.decoder(*x) for _ in range(2)]
    torch.testing.assert_close(outputs[0], outputs[1])  # zero dropout: deterministic in train mode
    noisy = build("maelm_tiny", task, **dict(TINY, decoder_dropout=0.3)).train()
    assert not torch.allclose(noisy.encoder.decoder(*x), noisy.encoder.decoder(*x))


def test_bf16_forward_on_cpu(task):
    model = build("maelm_tiny", task, **TINY).eval()
    src, target = batch(task)
    reference = model(src, masked_tokens=target.ne(1))[0]
    logits = model.to(torch.bfloat16)(src, masked_tokens=target.ne(1))[0]
    assert logits.dtype == torch.bfloat16
    assert (logits.float() - reference).abs().max() < 0.1


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason="needs a CUDA device: fp16 and bf16 forward and backward of the model on the GPU")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_forward_backward_on_gpu(task, dtype):
    model = build("maelm_tiny", task, **TINY).cuda().to(dtype)
    src, target = batch(task)
    logits, _ = model(src.cuda(), masked_tokens=target.ne(1).cuda())
    loss = torch.nn.functional.cross_entropy(logits.float(), target[target.ne(1)].cuda())
    loss.backward()
    assert torch.isfinite(loss)


def test_tokens_per_sample_beyond_model_positions_is_refused(task):
    with pytest.raises(ValueError, match="--tokens-per-sample"):
        build("maelm_tiny", task, **TINY, max_positions=32)


@pytest.mark.parametrize("bad", [dict(mask_prob=0.0), dict(mask_prob=1.0), dict(random_token_prob=-0.1),
                                 dict(leave_unmasked_prob=0.6, random_token_prob=0.6)])
def test_task_refuses_bad_masking_options(bad):
    with pytest.raises(ValueError, match="--"):
        pretraining_task(**bad)


def test_glue_model_loads_a_squad_finetuned_checkpoint(task):
    squad = build_squad("maelm_tiny", task, **TINY)
    state = dict(squad.state_dict())
    assert any(k.startswith("squad_head.") for k in state)  # what a maelm_squad checkpoint adds
    glue = build("maelm_tiny", finetuning_task(task), **TINY)
    glue.load_state_dict(dict(state), strict=True)
    assert glue.state_dict().keys() == {k for k in state if not k.startswith("squad_head.")}
    for name, tensor in glue.state_dict().items():
        assert torch.equal(tensor, state[name])
