"""`--rel-pos-init local` and `--decoder-rel-pos 1`: a relative-position bias that starts out local, and one in the
decoder too. Together they let small models leave the unigram plateau quickly (the demo uses them)."""
import pytest
import torch

from model_factory import TINY, batch, build, finetuning_task, pretraining_task
from maelm_fairseq.modules.relative_position import local_bias, relative_position_bucket


@pytest.fixture(scope="module")
def task():
    return pretraining_task()


def bias_at(table, distances, bins, max_distance):
    return table[relative_position_bucket(torch.tensor(distances), bins, max_distance)]  # (len(distances), H)


def test_local_init_penalises_distance_with_alibi_slopes():
    table = local_bias(32, 64, 4)
    at = bias_at(table, [0, 1, -1, 2, 5, -40, 63], 32, 64)
    slopes = torch.tensor([1.0, 2 ** -2, 2 ** -4, 2 ** -6])
    torch.testing.assert_close(at[0], -slopes)  # distance 0 counts as 1
    torch.testing.assert_close(at[1], -slopes)
    torch.testing.assert_close(at[2], -slopes)  # symmetric
    torch.testing.assert_close(at[3], -2 * slopes)
    torch.testing.assert_close(at[4], -5 * slopes)
    assert (at[5] < at[4]).all() and (at[6] <= at[5]).all()  # log buckets: still decreasing with distance


@pytest.mark.parametrize("init", ["normal", "local"])
def test_encoder_table_follows_the_flag(task, init):
    torch.manual_seed(0)
    model = build("maelm_tiny", task, **TINY, rel_pos=1, rel_pos_init=init)
    weight = model.encoder.sentence_encoder.rel_pos_bias.weight.detach()
    if init == "local":
        assert torch.equal(weight, local_bias(weight.size(0), model.args.max_rel_pos, weight.size(1)))
    else:
        assert weight.abs().max() < 0.15 and 0.01 < weight.std() < 0.03  # N(0, 0.02)


def test_decoder_rel_pos_is_off_by_default_and_used_when_on(task):
    assert build("maelm_tiny", task, **TINY).encoder.decoder.rel_pos_bias is None
    torch.manual_seed(0)
    model = build("maelm_tiny", task, **TINY, decoder_rel_pos=1, rel_pos_init="local").eval()
    table = model.encoder.decoder.rel_pos_bias
    assert table.weight.shape == (model.args.rel_pos_bins, model.args.decoder_attention_heads)
    src, target = batch(task)
    predicted = target.ne(task.dictionary.pad())
    with torch.no_grad():
        before = model(src, masked_tokens=predicted)[0]
        table.weight.zero_()
        after = model(src, masked_tokens=predicted)[0]
    assert not torch.allclose(before, after)  # the decoder's logits depend on its table


def test_finetuning_drops_the_decoder_table(task):
    pretrained = build("maelm_tiny", task, **TINY, decoder_rel_pos=1, rel_pos_init="local")
    assert any(k.startswith("encoder.decoder.rel_pos_bias") for k in pretrained.state_dict())
    finetune = build("maelm_tiny", finetuning_task(task), **TINY, decoder_rel_pos=1, rel_pos_init="local")
    finetune.register_classification_head("sentence_classification_head", num_classes=2)
    finetune.load_state_dict(pretrained.state_dict(), strict=True)
    assert not any("decoder" in k for k in finetune.state_dict())
