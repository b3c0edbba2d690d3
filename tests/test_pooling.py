"""--pooling: what a sentence classification head reads. first = <s> (RoBERTa), mean = the mean of the encoder
features over the real tokens (padding excluded); the HF export refuses mean-pooled classifiers in one line."""
import pytest
import torch

from maelm_fairseq.errors import UserInputError
from model_factory import TINY, batch, build, finetuning_task, pretraining_task

HEAD = "sentence_classification_head"


def classifier(pooling):
    task = pretraining_task()
    torch.manual_seed(0)
    model = build("maelm_tiny", finetuning_task(task), **TINY, pooling=pooling).eval()
    model.register_classification_head(HEAD, num_classes=2)
    src, _ = batch(task, mask_prob=0.0)  # rows of different lengths: padding that must not count
    return model, src, task.dictionary.pad()


def test_mean_pooling_reads_the_mean_of_the_real_tokens():
    model, src, pad = classifier("mean")
    with torch.no_grad():
        logits = model(src, classification_head_name=HEAD)[0]
        features = model(src, features_only=True)[0]
        expected = torch.stack([features[r, src[r].ne(pad)].mean(0) for r in range(src.size(0))])
        head = model.classification_heads[HEAD]
        assert torch.allclose(logits, head.out_proj(torch.tanh(head.dense(expected))), atol=1e-6)
        first = head.out_proj(torch.tanh(head.dense(features[:, 0])))
    assert (logits - first).abs().max() > 1e-3  # the flag changes what the head reads


def test_first_pooling_is_robertas_head_on_s():
    model, src, _ = classifier("first")
    with torch.no_grad():
        logits = model(src, classification_head_name=HEAD)[0]
        features = model(src, features_only=True)[0]
        assert torch.allclose(logits, model.classification_heads[HEAD](features), atol=1e-6)


def test_mean_pooling_trains_the_encoder():
    model, src, _ = classifier("mean")
    model.train()
    model(src, classification_head_name=HEAD)[0].sum().backward()
    assert model.encoder.sentence_encoder.layers[0].fc1.weight.grad.abs().sum() > 0


def test_hf_export_refuses_a_mean_pooled_classifier(tmp_path):
    pytest.importorskip("transformers")
    from maelm_fairseq.export.hf_export import export

    model, _, _ = classifier("mean")
    torch.save({"model": model.state_dict(), "cfg": {"model": vars(model.args)}}, tmp_path / "c.pt")
    with pytest.raises(UserInputError, match=r"^--pooling mean: .*--head model"):
        export(tmp_path / "c.pt", str(tmp_path / "hf"))
    assert export(tmp_path / "c.pt", str(tmp_path / "hf"), head="model")["head"] == "model"
