"""maelm-export-hf, the model: the export loads with transformers and gives our hidden states and MLM /
classification outputs to 1e-4 in fp32, with and without the relative-position bias (remote code), for MLM,
MAE-LM (decoder dropped) and fine-tuned checkpoints. Skipped without transformers."""
import argparse
import json
import os
import subprocess
import sys

import pytest
import torch

transformers = pytest.importorskip("transformers")

from helpers import REPO, TINY_TRAIN, run_cli  # noqa: E402
from maelm_fairseq.errors import UserInputError  # noqa: E402
from maelm_fairseq.export.hf_export import export  # noqa: E402
from maelm_fairseq.export.reference import Reference, max_difference, random_batch  # noqa: E402
from model_factory import TINY, batch, build, finetuning_task, pretraining_task  # noqa: E402

TOL = 1e-4


def save_checkpoint(model, args, path):
    """The parts of a fairseq checkpoint the exporter reads: weights and the model configuration."""
    torch.save({"model": model.state_dict(), "cfg": {"model": vars(args)}}, path)
    return path


def tiny(arch="maelm_tiny", task=None, **overrides):
    task = task or pretraining_task()
    values = dict(TINY, max_positions=64, **overrides)
    model = build(arch, task, **values).eval()
    args = argparse.Namespace(arch=arch, **values)
    from fairseq.models import ARCH_CONFIG_REGISTRY
    ARCH_CONFIG_REGISTRY[arch](args)
    with torch.no_grad():  # a bias far from zero, so a forward that ignored it could not pass
        if model.encoder.sentence_encoder.rel_pos_bias is not None:
            model.encoder.sentence_encoder.rel_pos_bias.weight.normal_(std=1.0)
    return task, model, args


def hf_inputs(src, pad):
    return dict(input_ids=src, attention_mask=src.ne(pad).long())


def max_state_difference(ours, theirs, real):
    assert len(ours) == len(theirs) == TINY["encoder_layers"] + 1
    return max(float((a[real] - b[real]).abs().max()) for a, b in zip(ours, theirs))


def test_mlm_checkpoint_exports_to_roberta_for_masked_lm(tmp_path):
    task, model, args = tiny(decoder_layers=0, rel_pos=0)
    with torch.no_grad():  # non-trivial LM-head weights
        model.encoder.lm_head.bias.normal_()
    info = export(save_checkpoint(model, args, tmp_path / "c.pt"), str(tmp_path / "hf"))
    assert info["class"] == "RobertaForMaskedLM" and info["max_abs_diff"] <= TOL and not info["trust_remote_code"]
    assert not (tmp_path / "hf" / "modeling_maelm.py").exists()
    hf = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path / "hf").eval()
    assert type(hf).__name__ == "RobertaForMaskedLM"
    src, _ = batch(task)
    pad = task.dictionary.pad()
    real = src.ne(pad)
    with torch.no_grad():
        ours_logits = model(src)[0]  # (N, V) at every position
        ours_features = model(src, features_only=True)[0]
        out = hf(**hf_inputs(src, pad), output_hidden_states=True)
    assert (ours_features[real] - out.hidden_states[-1][real]).abs().max() <= TOL
    assert (ours_logits.view(*src.shape, -1)[real] - out.logits[real]).abs().max() <= TOL
    assert hf.lm_head.decoder.weight.data_ptr() == hf.roberta.embeddings.word_embeddings.weight.data_ptr()  # tied


@pytest.mark.parametrize("rel_pos_init", ["normal", "local"])
def test_rel_pos_mlm_checkpoint_exports_with_its_own_modeling_code(tmp_path, rel_pos_init):
    """maelm_tiny's encoder as shipped (rel-pos, one table shared by all layers); --rel-pos-init changes only the
    table's start, not the forward."""
    task, model, args = tiny(decoder_layers=0, rel_pos_init=rel_pos_init)
    assert args.rel_pos == 1
    info = export(save_checkpoint(model, args, tmp_path / "c.pt"), str(tmp_path / "hf"))
    assert info["class"] == "MaelmForMaskedLM" and info["trust_remote_code"] and info["max_abs_diff"] <= TOL
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert config["model_type"] == "maelm" and (config["rel_pos_bins"], config["max_rel_pos"]) == (32, 64)
    assert config["auto_map"]["AutoModel"] == "modeling_maelm.MaelmModel"
    assert {"modeling_maelm.py", "configuration_maelm.py", "relative_position.py"} <= set(os.listdir(tmp_path / "hf"))

    src, _ = batch(task)
    pad = task.dictionary.pad()
    real = src.ne(pad)
    with torch.no_grad():
        ours_logits = model(src)[0].view(*src.shape, -1)
        ours_states = model.encoder.sentence_encoder(src, return_all_hiddens=True)[1]
    for attention in ("sdpa", "eager"):  # the bias rides in the additive mask either way
        hf = transformers.AutoModelForMaskedLM.from_pretrained(tmp_path / "hf", trust_remote_code=True,
                                                               attn_implementation=attention).eval()
        assert type(hf).__name__ == "MaelmForMaskedLM"
        with torch.no_grad():
            out = hf(**hf_inputs(src, pad), output_hidden_states=True)
        assert max_state_difference(ours_states, out.hidden_states, real) <= TOL
        assert (ours_logits[real] - out.logits[real]).abs().max() <= TOL
    assert hf.lm_head.decoder.weight.data_ptr() == hf.roberta.embeddings.word_embeddings.weight.data_ptr()
    left = torch.stack([row.roll(int((row == pad).sum())) for row in src])  # left-padded: positions count from
    with torch.no_grad():                                                     # the first real token in both
        ours_left = model.encoder.sentence_encoder(left, return_all_hiddens=True)[1]
        out = hf(**hf_inputs(left, pad), output_hidden_states=True)
    assert left[:, 0].eq(pad).any() and max_state_difference(ours_left, out.hidden_states, left.ne(pad)) <= TOL
    # the same directory also gives the bare encoder
    encoder = transformers.AutoModel.from_pretrained(tmp_path / "hf", trust_remote_code=True).eval()
    with torch.no_grad():
        states = encoder(**hf_inputs(src, pad), output_hidden_states=True).hidden_states
    assert type(encoder).__name__ == "MaelmModel" and max_state_difference(ours_states, states, real) <= TOL


@pytest.mark.parametrize("arch,overrides", [
    ("maelm_tiny", dict(decoder_layers=1, decoder_type="self", rel_pos=0, mask_embedding="learned")),
    ("maelm_tiny", dict(decoder_layers=1, decoder_type="cross", rel_pos=0, mask_embedding="learned")),
    ("maelm_tiny", dict()),  # MAE-LM as shipped: decoder, rel-pos
])
def test_decoder_checkpoint_exports_encoder_only(tmp_path, arch, overrides):
    task, model, args = tiny(arch, **overrides)
    rel_pos = bool(args.rel_pos)
    info = export(save_checkpoint(model, args, tmp_path / "c.pt"), str(tmp_path / "hf"))
    assert info == {**info, "class": "MaelmModel" if rel_pos else "RobertaModel", "decoder_dropped": True}
    hf = transformers.AutoModel.from_pretrained(tmp_path / "hf", trust_remote_code=rel_pos).eval()
    src, _ = batch(task)
    src = src.masked_fill(src.eq(task.mask_idx), 7)  # fine-tuning inputs have no <mask>
    pad = task.dictionary.pad()
    with torch.no_grad():
        ours = model.encoder.sentence_encoder(src, return_all_hiddens=True)[1]
        theirs = hf(**hf_inputs(src, pad), output_hidden_states=True).hidden_states
    assert max_state_difference(ours, theirs, src.ne(pad)) <= TOL
    with pytest.raises(UserInputError, match="decoder"):
        export(tmp_path / "c.pt", str(tmp_path / "hf2"), head="mlm")


@pytest.mark.parametrize("rel_pos", [0, 1])
def test_fine_tuned_checkpoint_exports_classifier(tmp_path, rel_pos):
    """A sentence_prediction model that loaded a pretraining checkpoint (MAE-LM's with rel_pos=1: decoder dropped)."""
    task = pretraining_task()
    _, pretrained, _ = tiny(task=task, rel_pos=rel_pos)
    _, model, args = tiny(task=finetuning_task(task), rel_pos=rel_pos)
    model.register_classification_head("sentence_classification_head", num_classes=3)
    state = pretrained.state_dict()
    state.update({k: v for k, v in model.state_dict().items() if k.startswith("classification_heads.")})
    model.upgrade_state_dict_named(state, "")
    model.load_state_dict(state, strict=True)
    args.pooler_dropout = 0.0
    info = export(save_checkpoint(model, args, tmp_path / "c.pt"), str(tmp_path / "hf"))
    expected = "MaelmForSequenceClassification" if rel_pos else "RobertaForSequenceClassification"
    assert info["class"] == expected and info["head"] == "classification"
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf",
                                                                        trust_remote_code=bool(rel_pos)).eval()
    assert type(hf).__name__ == expected and hf.config.num_labels == 3
    src, _ = batch(task, mask_prob=0.0)
    with torch.no_grad():
        ours = model(src, features_only=True, classification_head_name="sentence_classification_head")[0]
        theirs = hf(**hf_inputs(src, task.dictionary.pad())).logits
    assert (ours - theirs).abs().max() <= TOL


@pytest.mark.parametrize("rel_pos,weight", [(0, "encoder.layer.1.intermediate.dense.bias"),
                                            (1, "encoder.rel_pos_bias.weight")])
def test_comparison_detects_a_wrong_weight(tmp_path, rel_pos, weight):
    task, model, args = tiny(decoder_layers=0, rel_pos=rel_pos)
    path = save_checkpoint(model, args, tmp_path / "c.pt")
    export(path, str(tmp_path / "hf"), head="model")
    hf = transformers.AutoModel.from_pretrained(tmp_path / "hf", trust_remote_code=bool(rel_pos)).eval()
    weights, cfg = torch.load(path, weights_only=False)["model"], args
    reference = Reference(weights, cfg, "model")
    tokens = random_batch(200)
    assert max_difference(reference, hf, tokens) <= TOL
    with torch.no_grad():  # one entry: one bias unit, or the bias of one distance (a constant would cancel out)
        hf.get_parameter(weight)[15].add_(0.5)
    assert max_difference(reference, hf, tokens) > TOL


def test_mismatch_is_an_error_not_a_silent_export(tmp_path, monkeypatch, capsys):
    task, model, args = tiny(decoder_layers=0)
    path = save_checkpoint(model, args, tmp_path / "c.pt")
    from maelm_fairseq.export import hf_export

    real = hf_export.max_difference
    monkeypatch.setattr(hf_export, "max_difference", lambda *a: real(*a) + 1.0)
    with pytest.raises(hf_export.ExportMismatch) as error:
        export(path, str(tmp_path / "hf"))
    assert error.value.difference >= 1.0 and not (tmp_path / "hf" / "maelm_export.json").exists()
    from maelm_fairseq.export.hf_cli import main

    capsys.readouterr()
    assert main([str(path), "--out", str(tmp_path / "hf"), "--no-tokenizer"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "max abs difference" in err and len(err.strip().splitlines()) == 1
    info = export(path, str(tmp_path / "hf"), tolerance=2.0)  # --tolerance
    assert 1.0 <= info["max_abs_diff"] <= 2.0
    assert "max_abs_diff" not in export(path, str(tmp_path / "hf3"), verify=False)  # --no-verify


@pytest.fixture(scope="module")
def mlm_checkpoint(word_data_bin, tmp_path_factory):
    """A real fairseq-train checkpoint (DictConfig cfg): in-family MLM baseline (maelm_tiny's rel-pos), 2 updates."""
    save = tmp_path_factory.mktemp("export_ckpt")
    run_cli(["fairseq-train", word_data_bin, "--user-dir", "maelm_fairseq", "--task", "maelm", "--criterion",
             "maelm", "--arch", "maelm_tiny", "--decoder-layers", 0, "--max-update", 2,
             "--save-dir", save, "--disable-validation"] + TINY_TRAIN)
    return save / "checkpoint_last.pt"


def run_export_cli(*args):
    return subprocess.run([sys.executable, "-m", "maelm_fairseq.export.hf_cli", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_cli_export_matches_the_fairseq_loaded_model(mlm_checkpoint, word_data_bin, tmp_path):
    out = tmp_path / "hf"
    proc = run_export_cli(mlm_checkpoint, "--out", out, "--no-tokenizer")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "MaelmForMaskedLM" in proc.stdout and "trust_remote_code=True" in proc.stdout
    assert json.loads((out / "maelm_export.json").read_text())["max_abs_diff"] <= TOL

    import maelm_fairseq.tasks  # noqa: F401  (registers the plugin)
    from fairseq import checkpoint_utils

    models, _, task = checkpoint_utils.load_model_ensemble_and_task([str(mlm_checkpoint)],
                                                                    arg_overrides={"data": str(word_data_bin)})
    ours = models[0].eval()
    hf = transformers.AutoModelForMaskedLM.from_pretrained(out, trust_remote_code=True).eval()
    src = random_batch(len(task.source_dictionary), rows=4, length=40, seed=3)
    real = src.ne(1)
    with torch.no_grad():
        states = ours.encoder.sentence_encoder(src, return_all_hiddens=True)[1]
        logits = ours(src)[0].view(*src.shape, -1)
        out_hf = hf(**hf_inputs(src, 1), output_hidden_states=True)
    assert max_state_difference(states, out_hf.hidden_states, real) <= TOL
    assert (logits[real] - out_hf.logits[real]).abs().max() <= TOL


@pytest.mark.parametrize("flags,message", [
    ([], "--data: needed for the tokenizer"),
    (["--no-tokenizer", "--data", "x"], "--no-tokenizer: drop it"),
    (["--data", "/nonexistent"], "/nonexistent/dict.txt: dictionary not found; --data must be a fairseq data-bin"),
    (["--head", "mlm", "--no-tokenizer"], "--head mlm: this checkpoint's LM head reads the output of its decoder"),
    (["--head", "classification", "--no-tokenizer"], "--head classification needs exactly one classification head"),
])
def test_cli_errors_are_one_line_with_exit_2(tmp_path, capsys, flags, message):
    from maelm_fairseq.export.hf_cli import main

    task, model, args = tiny()
    path = save_checkpoint(model, args, tmp_path / "c.pt")
    assert main([str(path), "--out", str(tmp_path / "hf"), *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1, err
    assert main([str(tmp_path / "none.pt"), "--out", str(tmp_path / "hf"), "--no-tokenizer"]) == 2
    assert "none.pt: no such checkpoint file" in capsys.readouterr().err


@pytest.mark.parametrize("damage,message", [
    ("truncate", "cannot be read as a checkpoint (RuntimeError: PytorchStreamReader failed"),
    ("not a checkpoint", "not a checkpoint (no 'model' state dict) — give the .pt written by fairseq-train"),
])
def test_a_broken_checkpoint_file_is_one_line(tmp_path, capsys, damage, message):
    """The reader maelm-import-fork shares: half a checkpoint (a copy cut short), or a .pt holding something else."""
    from maelm_fairseq.export.hf_cli import main

    _, model, args = tiny()
    path = save_checkpoint(model, args, tmp_path / "c.pt")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])
    else:
        torch.save(model.state_dict(), path)  # weights alone, no 'model' entry
    assert main([str(path), "--out", str(tmp_path / "hf"), "--no-tokenizer"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: {message}") and err.count("\n") == 1, err
    assert not (tmp_path / "hf").exists()


def test_a_real_checkpoint_gives_its_data_bin_to_the_tokenizer(mlm_checkpoint, word_data_bin, tmp_path, capsys):
    """Without --data, the data-bin fairseq-train recorded (cfg.task.data) is used and named; this word-level one
    has no tokenizer manifest, so the tokenizer step then asks for the files (tokenizer tests export in full)."""
    from maelm_fairseq.export.hf_cli import main

    assert main([str(mlm_checkpoint), "--out", str(tmp_path / "hf")]) == 2
    captured = capsys.readouterr()
    assert captured.out == f"--data {word_data_bin}: the data-bin recorded in the checkpoint (cfg.task.data)\n"
    assert captured.err.startswith(f"error: {word_data_bin / 'tokenizer.json'}: no tokenizer manifest")


def test_help(capsys):
    from maelm_fairseq.export.hf_cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    text = capsys.readouterr().out
    assert exit_info.value.code == 0 and "MaelmForMaskedLM" in text and "--out DIR" in text
