"""GLUE-style fine-tuning from a pretraining checkpoint with stock `fairseq-train --task sentence_prediction`:
the decoder is dropped, the classification head is built, loading is strict; the metrics criterion logs F1/MCC
(or Pearson/Spearman) per validation; the fine-tuned checkpoint reloads."""
import pytest

from helpers import CPU_ENV, logged_values, run_cli
from maelm_fairseq.evaluation import training_log

FINETUNE = ["--user-dir", "maelm_fairseq", "--task", "sentence_prediction", "--arch", "maelm_tiny",
            "--num-classes", 2, "--init-token", 0, "--separator-token", 2, "--shorten-method", "truncate",
            "--optimizer", "adam", "--lr", 1e-3, "--batch-size", 32, "--cpu", "--num-workers", 0, "--log-format", "simple", "--log-interval", 10,
            "--seed", 1, "--no-epoch-checkpoints", "--no-last-checkpoints", "--no-save-optimizer-state"]
RESET = ["--reset-optimizer", "--reset-dataloader", "--reset-meters"]
UPDATES = 70


def finetune(data, save_dir, *extra, updates=UPDATES, criterion="maelm_sentence_prediction"):
    return run_cli(["fairseq-train", data, *FINETUNE, "--criterion", criterion, "--max-update", updates,
                    "--save-dir", save_dir, *extra], env=CPU_ENV)[1]


@pytest.fixture(scope="module")
def restored_run(pair_data_bin, pretrained_checkpoint, tmp_path_factory):
    save_dir = tmp_path_factory.mktemp("glue")
    output = finetune(pair_data_bin, save_dir, "--restore-file", pretrained_checkpoint, *RESET,
                      "--best-checkpoint-metric", "accuracy", "--maximize-best-checkpoint-metric")
    return save_dir, output


def test_restore_file_trains_the_pair_task_above_chance(restored_run, pretrained_checkpoint):
    _, output = restored_run
    assert f"Loaded checkpoint {pretrained_checkpoint}" in output
    assert "Overwriting classification_heads.sentence_classification_head.out_proj.weight" in output  # head is new
    accuracy = logged_values(output, "accuracy", kind="valid")
    assert accuracy[-1] > 65.0, output[-3000:]  # balanced classes: chance is 50
    for name in ("f1", "mcc", "acc_f1"):
        assert logged_values(output, name, kind="valid"), f"{name} not logged"
    assert logged_values(output, "mcc", kind="valid")[-1] > 0


def test_finetuned_checkpoint_reloads_with_the_same_scores(restored_run, pair_data_bin):
    save_dir, output = restored_run
    _, validated = run_cli(["fairseq-validate", pair_data_bin, "--user-dir", "maelm_fairseq", "--task", "sentence_prediction",
                            "--criterion", "maelm_sentence_prediction", "--num-classes", 2, "--path",
                            save_dir / "checkpoint_best.pt", "--valid-subset", "valid", "--batch-size", 16, "--cpu",
                            "--num-workers", 0], env=CPU_ENV)
    reloaded = training_log.valid_rows(validated)[-1]
    best = max(logged_values(output, "accuracy", kind="valid"))
    assert reloaded["accuracy"] == pytest.approx(best, abs=0.05)
    assert {"accuracy", "f1", "mcc"} <= set(reloaded)


def test_finetune_from_model_with_the_stock_criterion(pair_data_bin, pretrained_checkpoint, tmp_path):
    output = finetune(pair_data_bin, tmp_path, "--finetune-from-model", pretrained_checkpoint, updates=4,
                      criterion="sentence_prediction")
    assert f"loading pretrained model from {pretrained_checkpoint}" in output and "Loaded checkpoint" in output
    assert logged_values(output, "accuracy", kind="valid") and not logged_values(output, "mcc", kind="valid")


def test_regression_target_logs_pearson_and_spearman(pair_data_bin, pretrained_checkpoint, tmp_path):
    output = finetune(pair_data_bin / "regression", tmp_path, "--finetune-from-model", pretrained_checkpoint,
                      "--regression-target", "--num-classes", 1, "--best-checkpoint-metric", "loss", updates=6)
    for name in ("pearson", "spearman", "pearson_spearman"):
        values = logged_values(output, name, kind="valid")
        assert values and -100 <= values[-1] <= 100, name
