"""maelm-export-hf: the export loads with transformers and gives our hidden states (and MLM / classification
outputs) to 1e-4 in fp32; rel-pos checkpoints are refused with a clear message. Skipped without transformers."""
import argparse
import json
import os
import subprocess
import sys

import pytest
import torch

transformers = pytest.importorskip("transformers")

from conftest import REPO, TINY_TRAIN, run_cli  # noqa: E402
from maelm_fairseq.export.hf_cli import ExportError, compare, export, random_batch  # noqa: E402
from model_factory import TINY, batch, build, finetuning_task, pretraining_task  # noqa: E402

TOL = 1e-4


def save_checkpoint(model, args, path):
    """The parts of a fairseq checkpoint the exporter reads: weights and the model configuration."""
    torch.save({"model": model.state_dict(), "cfg": {"model": vars(args)}}, path)
    return path


def tiny(arch="maelm_tiny", **overrides):
    task = pretraining_task()
    values = dict(TINY, max_positions=64, **overrides)
    model = build(arch, task, **values).eval()
    args = argparse.Namespace(arch=arch, **values)
    from fairseq.models import ARCH_CONFIG_REGISTRY
    ARCH_CONFIG_REGISTRY[arch](args)
    return task, model, args


def hf_inputs(src, pad):
    return dict(input_ids=src, attention_mask=src.ne(pad).long())


def test_mlm_checkpoint_exports_to_roberta_for_masked_lm(tmp_path):
    task, model, args = tiny(decoder_layers=0, rel_pos=0)
    with torch.no_grad():  # non-trivial LM-head weights
        model.encoder.lm_head.bias.normal_()
    info = export(save_checkpoint(model, args, tmp_path / "c.pt"), str(tmp_path / "hf"))
    assert info["class"] == "RobertaForMaskedLM" and info["max_abs_diff_hidden_states"] <= TOL
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


@pytest.mark.parametrize("decoder_type", ["self", "cross"])
def test_decoder_checkpoint_exports_encoder_only(tmp_path, decoder_type):
    task, model, args = tiny(decoder_layers=1, decoder_type=decoder_type, rel_pos=0, mask_embedding="learned")
    info = export(save_checkpoint(model, args, tmp_path / "c.pt"), str(tmp_path / "hf"))
    assert info == {**info, "class": "RobertaModel", "decoder_dropped": True}
    hf = transformers.AutoModel.from_pretrained(tmp_path / "hf").eval()
    src, _ = batch(task)
    src = src.masked_fill(src.eq(task.mask_idx), 7)  # fine-tuning inputs have no <mask>
    pad = task.dictionary.pad()
    with torch.no_grad():
        ours = model.encoder.sentence_encoder(src, return_all_hiddens=True)[1]
        theirs = hf(**hf_inputs(src, pad), output_hidden_states=True).hidden_states
    real = src.ne(pad)
    assert len(ours) == len(theirs) == TINY["encoder_layers"] + 1
    assert max(float((a[real] - b[real]).abs().max()) for a, b in zip(ours, theirs)) <= TOL
    with pytest.raises(ExportError, match="decoder"):
        export(tmp_path / "c.pt", str(tmp_path / "hf2"), head="mlm")


def test_sentence_prediction_checkpoint_exports_classifier(tmp_path):
    task = pretraining_task()
    ft = finetuning_task(task)
    values = dict(TINY, max_positions=64, rel_pos=0)
    model = build("maelm_tiny", ft, **values).eval()
    model.register_classification_head("sentence_classification_head", num_classes=2)
    args = argparse.Namespace(arch="maelm_tiny", pooler_dropout=0.0, **values)
    info = export(save_checkpoint(model, args, tmp_path / "c.pt"), str(tmp_path / "hf"))
    assert info["class"] == "RobertaForSequenceClassification"
    hf = transformers.AutoModelForSequenceClassification.from_pretrained(tmp_path / "hf").eval()
    src, _ = batch(task, mask_prob=0.0)
    with torch.no_grad():
        ours = model(src, features_only=True, classification_head_name="sentence_classification_head")[0]
        theirs = hf(**hf_inputs(src, task.dictionary.pad())).logits
    assert (ours - theirs).abs().max() <= TOL


def test_rel_pos_is_refused_with_a_reason(tmp_path):
    task, model, args = tiny(rel_pos=1)
    with pytest.raises(ExportError, match="relative-position bias"):
        export(save_checkpoint(model, args, tmp_path / "c.pt"), str(tmp_path / "hf"))
    assert not (tmp_path / "hf").exists()


def test_comparison_detects_a_wrong_weight(tmp_path):
    task, model, args = tiny(decoder_layers=0, rel_pos=0)
    path = save_checkpoint(model, args, tmp_path / "c.pt")
    export(path, str(tmp_path / "hf"))
    hf = transformers.AutoModel.from_pretrained(tmp_path / "hf").eval()
    weights = torch.load(path, weights_only=False)["model"]
    with torch.no_grad():
        hf.encoder.layer[1].intermediate.dense.bias.add_(1e-2)
    assert compare(weights, args, hf, random_batch(200)) > TOL


@pytest.fixture(scope="module")
def mlm_checkpoint(word_data_bin, tmp_path_factory):
    """A real fairseq-train checkpoint (DictConfig cfg): in-family MLM, absolute positions, 2 updates."""
    save = tmp_path_factory.mktemp("export_ckpt")
    run_cli(["fairseq-train", word_data_bin, "--user-dir", "maelm_fairseq", "--task", "maelm", "--criterion",
             "maelm", "--arch", "maelm_tiny", "--decoder-layers", 0, "--rel-pos", 0, "--max-update", 2,
             "--save-dir", save, "--disable-validation"] + TINY_TRAIN)
    return save / "checkpoint_last.pt"


def test_cli_export_matches_the_fairseq_loaded_model(mlm_checkpoint, word_data_bin, tmp_path):
    out = tmp_path / "hf"
    proc = subprocess.run([sys.executable, "-m", "maelm_fairseq.export.hf_cli", str(mlm_checkpoint), str(out),
                           "--data", str(word_data_bin)], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "RobertaForMaskedLM" in proc.stdout and (out / "fairseq" / "dict.txt").is_file()
    assert json.loads((out / "maelm_export.json").read_text())["max_abs_diff_hidden_states"] <= TOL

    import maelm_fairseq  # noqa: F401
    from fairseq import checkpoint_utils

    models, _, task = checkpoint_utils.load_model_ensemble_and_task([str(mlm_checkpoint)],
                                                                    arg_overrides={"data": str(word_data_bin)})
    ours = models[0].eval()
    hf = transformers.AutoModelForMaskedLM.from_pretrained(out).eval()
    src = random_batch(len(task.source_dictionary), rows=4, length=40, seed=3)
    real = src.ne(1)
    with torch.no_grad():
        states = ours.encoder.sentence_encoder(src, return_all_hiddens=True)[1]
        logits = ours(src)[0].view(*src.shape, -1)
        out_hf = hf(**hf_inputs(src, 1), output_hidden_states=True)
    assert max(float((a[real] - b[real]).abs().max()) for a, b in zip(states, out_hf.hidden_states)) <= TOL
    assert (logits[real] - out_hf.logits[real]).abs().max() <= TOL


def test_cli_refuses_rel_pos_checkpoint_with_exit_2(tmp_path):
    task, model, args = tiny(rel_pos=1)
    path = save_checkpoint(model, args, tmp_path / "c.pt")
    proc = subprocess.run([sys.executable, "-m", "maelm_fairseq.export.hf_cli", str(path), str(tmp_path / "hf")],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "relative-position bias" in proc.stderr and "Traceback" not in proc.stderr


def test_help(capsys):
    from maelm_fairseq.export.hf_cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0 and "RobertaForMaskedLM" in capsys.readouterr().out
