"""Every speed path must give the plain path's results: same outputs (fp32 tolerance) and same gradients.

`--unpad always|auto` runs the encoder and decoder layers on the packed real tokens (no padding rows in the
projections, FFN and LayerNorms); `--unpad never` is the plain padded path.
"""
import pytest
import torch

from model_factory import TINY, batch, build, pretraining_task
from maelm_fairseq.modules import transformer_layer
from maelm_fairseq.modules.transformer_layer import Packing, unpad_wanted

CONFIGS = {
    "mlm": dict(decoder_layers=0, rel_pos=0),
    "mlm_relpos": dict(decoder_layers=0, rel_pos=1),
    "maelm_self_relpos": dict(decoder_layers=2, decoder_type="self", rel_pos=1),
    "maelm_local_decoder_relpos": dict(decoder_layers=2, rel_pos=1, rel_pos_init="local", decoder_rel_pos=1),
    "threeml_cross": dict(decoder_layers=2, decoder_type="cross", mask_embedding="learned", rel_pos=0),
    "decoder_proj": dict(decoder_layers=1, decoder_embed_dim=48, decoder_ffn_embed_dim=96,
                         decoder_attention_heads=3, decoder_type="cross"),
}


@pytest.fixture(scope="module")
def task():
    return pretraining_task()


def run(model, src, target, pad):
    model.zero_grad()
    predicted = target.ne(pad)
    logits, _ = model(src, masked_tokens=predicted)
    loss = torch.nn.functional.cross_entropy(logits, target[predicted])
    loss.backward()
    features = model(src, features_only=True)[0]
    return logits.detach(), features.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                                                if p.grad is not None}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_unpadded_equals_padded_outputs_and_gradients(task, name):
    torch.manual_seed(0)
    plain = build("maelm_tiny", task, **TINY, **CONFIGS[name], unpad="never")
    fast = build("maelm_tiny", task, **TINY, **CONFIGS[name], unpad="always")
    fast.load_state_dict(plain.state_dict())
    src, target = batch(task, rows=5, length=40, mask_prob=0.4, seed=3)  # rows of 40, 37, ... 28 tokens
    pad = task.dictionary.pad()
    logits_a, feats_a, grads_a = run(plain, src, target, pad)
    logits_b, feats_b, grads_b = run(fast, src, target, pad)
    torch.testing.assert_close(logits_b, logits_a, atol=1e-5, rtol=1e-5)
    real = src.ne(pad)
    torch.testing.assert_close(feats_b[real], feats_a[real], atol=1e-5, rtol=1e-5)
    assert (feats_b[~real] == 0).all()  # packed path leaves padding rows at zero
    assert grads_a.keys() == grads_b.keys()
    for n in grads_a:
        torch.testing.assert_close(grads_b[n], grads_a[n], atol=1e-5, rtol=1e-4, msg=n)


@pytest.mark.parametrize("mode,packed", [("always", True), ("never", False)])
def test_unpad_flag_decides_what_the_layers_see(task, mode, packed):
    model = build("maelm_tiny", task, **TINY, decoder_layers=1, unpad=mode).eval()
    src, target = batch(task)
    seen = {}
    model.encoder.sentence_encoder.layers[0].register_forward_hook(lambda m, a, o: seen.setdefault("enc", a[0]))
    model.encoder.decoder.layers[0].register_forward_hook(lambda m, a, o: seen.setdefault("dec", a[0]))
    model(src, masked_tokens=target.ne(1))
    kept = int((src.ne(1) & src.ne(task.mask_idx)).sum())
    if packed:
        assert seen["enc"].shape == (kept, TINY["encoder_embed_dim"])  # no padding row at all
        assert seen["dec"].shape == (int(src.ne(1).sum()), TINY["encoder_embed_dim"])
    else:
        assert seen["enc"].dim() == 3 and seen["enc"].shape[0] == src.shape[0]


def test_auto_unpads_only_when_padding_is_worth_it():
    none = torch.zeros(4, 64, dtype=torch.bool)
    little = none.clone()
    little[0, -3:] = True  # 3 / 256 padded
    much = none.clone()
    much[:, -16:] = True  # 1/4 padded
    assert not unpad_wanted("auto", none) and not unpad_wanted("always", none)
    assert not unpad_wanted("auto", little) and unpad_wanted("always", little)
    assert unpad_wanted("auto", much) and not unpad_wanted("never", much)


def test_packing_round_trip_and_segments():
    pad_mask = torch.tensor([[False, False, True], [False, True, False], [True, True, True]])
    p = Packing(pad_mask)
    x = torch.arange(9.0).view(3, 3, 1)
    assert p.pack(x).flatten().tolist() == [0, 1, 3, 5]
    assert p.unpack(p.pack(x)).flatten().tolist() == [0, 1, 0, 3, 0, 5, 0, 0, 0]
    assert p.cu_seqlens.tolist() == [0, 2, 4, 4]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available() or transformer_layer.varlen_attn is None,
                    reason="needs a CUDA device and torch.nn.attention.varlen (torch >= 2.10): FlashAttention varlen "
                           "attention over the packed tokens")
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_varlen_attention_on_gpu_matches_padded(task, dtype, monkeypatch):
    calls, original = [], transformer_layer.varlen_attn

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(transformer_layer, "varlen_attn", counted)
    torch.manual_seed(0)
    cfg = dict(TINY, **CONFIGS["threeml_cross"])
    plain = build("maelm_tiny", task, **cfg, unpad="never").cuda().to(dtype).eval()
    fast = build("maelm_tiny", task, **cfg, unpad="always").cuda().to(dtype).eval()
    fast.load_state_dict(plain.state_dict())
    src, target = batch(task, rows=5, length=40, mask_prob=0.4, seed=3)
    src, target = src.cuda(), target.cuda()
    a = plain(src, masked_tokens=target.ne(1))[0].float()
    assert not calls  # the padded path never packs
    b = fast(src, masked_tokens=target.ne(1))[0].float()
    assert calls  # the packed path ran FlashAttention varlen, not the padded-scores fallback
    torch.testing.assert_close(b, a, atol=3e-2, rtol=3e-2)


def run_all_positions(model, src, target, pad):
    """As run(), but the model computes every position (masked_tokens=None) and the loss picks the predicted ones."""
    model.zero_grad()
    predicted = target.ne(pad)
    logits = model(src)[0][predicted]
    torch.nn.functional.cross_entropy(logits, target[predicted]).backward()
    return logits.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("unpad", ["never", "always"])
@pytest.mark.parametrize("name", [n for n, cfg in CONFIGS.items() if cfg["decoder_layers"]])
def test_last_decoder_layer_at_predicted_positions_equals_all_positions(task, name, unpad):
    """Given masked_tokens, the decoder's last layer computes only those positions (transformer_layer.Subset):
    the same logits and gradients as computing every position and picking the predicted ones."""
    torch.manual_seed(0)
    model = build("maelm_tiny", task, **TINY, **CONFIGS[name], unpad=unpad)
    src, target = batch(task, rows=5, length=40, mask_prob=0.4, seed=3)  # uneven rows and uneven mask counts
    pad = task.dictionary.pad()
    last = model.encoder.decoder.layers[-1]
    queried = []
    hook = last.self_attn.q_proj.register_forward_hook(lambda m, a, o: queried.append(a[0][..., 0].numel()))
    logits_a, grads_a = run_all_positions(model, src, target, pad)
    logits_b, _, grads_b = run(model, src, target, pad)
    hook.remove()
    n_predicted = int(target.ne(pad).sum())
    assert queried[-1] == n_predicted < queried[0]  # the last layer queried the predicted positions only
    torch.testing.assert_close(logits_b, logits_a, atol=1e-5, rtol=1e-5)
    assert grads_a.keys() == grads_b.keys()
    for n in grads_a:
        torch.testing.assert_close(grads_b[n], grads_a[n], atol=1e-5, rtol=1e-4, msg=n)


def test_subset_of_a_rel_pos_bias_keeps_each_query_row():
    """Subset.query_rows: slot j of row b gets the bias row of row b's j-th selected position."""
    wanted = torch.tensor([[False, True, False, True], [True, False, False, False]])
    layout = transformer_layer.Layout(torch.zeros_like(wanted), packed=False)
    subset = transformer_layer.Subset(wanted, layout)
    bias = torch.arange(2 * 3 * 4 * 4.0).view(2, 3, 4, 4)
    rows = subset.query_rows(bias)
    assert rows.shape == (2, 3, 2, 4)
    torch.testing.assert_close(rows[0], bias[0, :, [1, 3]])
    torch.testing.assert_close(rows[1, :, 0], bias[1, :, 0])
    assert subset.rows.tolist() == [1, 3, 4]
    assert subset.packing.cu_seqlens.tolist() == [0, 2, 3]
