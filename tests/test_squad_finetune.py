"""SQuAD fine-tuning: span head and criterion in-process, then `fairseq-train --task maelm_squad` from the
pretraining checkpoint on the tiny v2.0 fixture (train = valid), its EM/F1 logging, and reloading."""
import argparse

import pytest
import torch
from fairseq import metrics

from finetune_fixtures import SQUAD_V2_METRICS
from helpers import CPU_ENV, logged_values, run_cli
from maelm_fairseq.errors import UserInputError
from maelm_fairseq.evaluation import training_log
from maelm_fairseq.squad.criterion import SquadCriterion
from maelm_fairseq.squad.evaluate import normalize_answer
from maelm_fairseq.squad.feature_file import FORMAT_NAME, FORMAT_VERSION
from maelm_fairseq.squad.predictions import WindowLogits
from maelm_fairseq.squad.task import SquadConfig, SquadTask

@pytest.fixture(scope="module")
def task(squad_data):
    task = SquadTask.setup_task(SquadConfig(data=str(squad_data)))
    task.load_dataset("valid")
    return task


@pytest.fixture(scope="module")
def model(task):
    args = argparse.Namespace(arch="maelm_tiny", dropout=0.0, attention_dropout=0.0)
    from fairseq.models import ARCH_CONFIG_REGISTRY

    ARCH_CONFIG_REGISTRY["maelm_tiny"](args)
    return task.build_model(args)


def test_head_masks_p_mask_positions_and_impossible_questions_train_toward_cls(task, model):
    dataset = task.dataset("valid")
    impossible = [i for i, f in enumerate(dataset.features) if f["is_impossible"]][:2]
    sample = dataset.collater([dataset[i] for i in impossible])
    features, _ = model(**sample["net_input"], features_only=True)
    start, end = model.squad_head(features, sample["p_mask"])
    masked = sample["p_mask"].bool()
    assert torch.isinf(start[masked]).all() and (start[masked] < 0).all() and torch.isinf(end[masked]).all()
    assert torch.isfinite(start[~masked]).all() and not masked[:, 0].any()  # <s> can hold the null answer

    criterion = SquadCriterion(task)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(10):
        loss, sample_size, _ = criterion(model, sample)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sample_size == 2 and losses[-1] < 0.5 * losses[0]
    model.eval()
    features, _ = model(**sample["net_input"], features_only=True)
    start, end = model.squad_head(features, sample["p_mask"])
    assert (start.argmax(1) == 0).all() and (end.argmax(1) == 0).all()


def test_validation_metrics_gather_windows_across_batches(task, model):
    """Windows of one question in different batches still make one prediction; every v2.0 metric is logged."""
    model.eval()
    criterion = SquadCriterion(task)
    dataset = task.dataset("valid")
    with metrics.aggregate(new_root=True) as agg:
        for start in range(0, len(dataset), 5):
            sample = dataset.collater([dataset[i] for i in range(start, min(start + 5, len(dataset)))])
            with torch.no_grad():
                _, _, logging_output = criterion(model, sample)
            task.reduce_metrics([logging_output], criterion)
        values = agg.get_smoothed_values()
    assert set(SQUAD_V2_METRICS) <= set(values) and not any(k.startswith("_") for k in values)
    assert 0 <= values["exact"] <= values["f1"] <= 100 and values["best_f1"] >= values["f1"] - 1e-6


def test_v1_data_logs_exact_and_f1_only(task):
    stored = task.stored["valid"]
    windows = {i: WindowLogits([(0, 0.0)], [(0, 0.0)], 0.0) for i in range(len(stored["features"]))}
    original = stored["squad_version"]
    stored["squad_version"] = "v1.1"
    try:
        result = task.evaluate("valid", windows)
    finally:
        stored["squad_version"] = original
    assert "best_f1" not in result and result["total"] == len(stored["examples"])


def test_squad_fine_tuning_reaches_the_answers_it_trained_on(squad_run, pretrained_checkpoint):
    _, output = squad_run
    assert f"Loaded checkpoint {pretrained_checkpoint}" in output
    for name in SQUAD_V2_METRICS:
        assert logged_values(output, name, kind="valid"), f"{name} not logged"
    # 7 answerable + 2 impossible questions; answering every question with null scores 2/9 = 22.2
    assert logged_values(output, "f1", kind="valid")[-1] > 50.0, output[-3000:]


def test_squad_checkpoint_reloads_with_the_same_scores(squad_run, squad_data):
    save_dir, output = squad_run
    _, validated = run_cli(["fairseq-validate", squad_data, "--user-dir", "maelm_fairseq", "--task", "maelm_squad", "--path",
                            save_dir / "checkpoint_best.pt", "--valid-subset", "valid", "--batch-size", 16, "--cpu",
                            "--num-workers", 0], env=CPU_ENV)
    reloaded = training_log.valid_rows(validated)[-1]
    assert reloaded["f1"] == pytest.approx(max(logged_values(output, "f1", kind="valid")), abs=0.01)


def test_missing_feature_directory_is_named_with_the_fix(tmp_path):
    with pytest.raises(UserInputError, match="dict.txt: dictionary not found; DATA must be the --output directory "
                                             "of preprocess/squad/prepare_squad.py"):
        SquadTask.setup_task(SquadConfig(data=str(tmp_path)))
    (tmp_path / "dict.txt").write_text("a 1\n")
    task = SquadTask.setup_task(SquadConfig(data=str(tmp_path)))
    with pytest.raises(UserInputError, match="valid.pt not found: write it with preprocess/squad/prepare_squad.py"):
        task.load_dataset("valid")


def test_features_longer_than_the_positions_are_refused_with_the_fix(tmp_path):
    (tmp_path / "dict.txt").write_text("a 1\n")
    torch.save({"format": FORMAT_NAME, "format_version": FORMAT_VERSION, "max_seq_length": 384, "features": []},
               tmp_path / "valid.pt")
    task = SquadTask.setup_task(SquadConfig(data=str(tmp_path), max_positions=256))
    with pytest.raises(UserInputError, match=r"valid.pt was made with --max-seq-length 384 > --max-positions 256: "
                                             r"re-run preprocess/squad/prepare_squad.py with --max-seq-length 256"):
        task.load_dataset("valid")
    assert "valid" not in task.datasets


def one_token_windows(task):
    """Every window proposes its first max-context context word as a 1-token answer scoring 2, against null 0.
    (A word that survives normalisation: "the" or "," alone would normalise to "" and count as a right null.)"""
    windows = {}
    examples = task.stored["valid"]["examples"]
    for i, f in enumerate(task.stored["valid"]["features"]):
        context = examples[f["example_index"]]["context"]
        first = next(t for t in range(1, len(f["p_mask"])) if not f["p_mask"][t] and f["token_is_max_context"][t]
                     and normalize_answer(context[int(f["offsets"][t][0]):int(f["offsets"][t][1])]))
        windows[i] = WindowLogits([(first, 1.0)], [(first, 1.0)], 0.0)
    return windows


def test_task_flags_reach_the_evaluation(squad_data, model):
    def task_with(**cfg):
        task = SquadTask.setup_task(SquadConfig(data=str(squad_data), **cfg))
        task.load_dataset("valid")
        return task

    default = task_with()
    spans = default.evaluate("valid", one_token_windows(default))
    assert spans["NoAns_exact"] == 0.0  # null score - span score = -2 < 0: every question gets a span
    nulls = task_with(null_score_diff_threshold=-3.0).evaluate("valid", one_token_windows(default))
    assert nulls["NoAns_exact"] == 100.0 and nulls["HasAns_exact"] == 0.0
    too_short = task_with(max_answer_length=0).evaluate("valid", one_token_windows(default))
    assert too_short["NoAns_exact"] == 100.0 and too_short["HasAns_exact"] == 0.0

    three = task_with(n_best_size=3)
    model.eval()
    dataset = three.dataset("valid")
    sample = dataset.collater([dataset[0], dataset[1]])
    with torch.no_grad():
        _, _, logging_output = SquadCriterion(three)(model, sample)
    split, windows = logging_output["squad_windows"]
    assert split == "valid" and all(len(w.starts) == len(w.ends) == 3 for w in windows.values())
