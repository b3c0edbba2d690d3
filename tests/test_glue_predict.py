"""maelm-glue-predict writes the GLUE benchmark's submission files from fine-tuned checkpoints and the test splits
prepare_glue.py binarizes. The fixture test files hold their task's train sentences, so a model fitted to train has
known answers: its RTE.tsv scores the accuracy fairseq-validate reports on the train split."""
import re
import shutil

import pytest

from helpers import CPU_ENV, run_cli
from maelm_fairseq.glue.predict_cli import submission_score
from preprocess.glue import prepare_glue

FIXTURES_GLUE = "tests/fixtures/glue"
# maelm_tiny from scratch: the checks need a fitted RTE model and well-formed MNLI / STS-B ones, not good ones
FINETUNE = ["--user-dir", "maelm_fairseq", "--task", "sentence_prediction", "--criterion", "sentence_prediction",
            "--arch", "maelm_tiny", "--init-token", 0, "--separator-token", 2, "--optimizer", "adam", "--lr", 1e-3,
            "--batch-size", 20, "--cpu", "--num-workers", 0, "--log-format", "simple", "--seed", 1,
            "--no-epoch-checkpoints", "--no-save-optimizer-state", "--validate-interval", 1000]


@pytest.fixture(scope="module")
def glue_bin(sp_data_bin, tmp_path_factory):
    out = tmp_path_factory.mktemp("glue_bin")
    assert prepare_glue.main(["--glue-dir", FIXTURES_GLUE, "--tasks", "RTE", "MNLI", "STS-B", "WNLI", "--tokenizer-dir",
                       str(sp_data_bin), "--output", str(out)]) == 0
    return out


def finetune(data, save_dir, *flags):
    run_cli(["fairseq-train", data, *FINETUNE, "--save-dir", save_dir, *flags], env=CPU_ENV)
    return save_dir / "checkpoint_last.pt"


@pytest.fixture(scope="module")
def checkpoints(glue_bin, tmp_path_factory):
    root = tmp_path_factory.mktemp("glue_ft")
    return {
        "RTE": finetune(glue_bin / "RTE-bin", root / "RTE", "--num-classes", 2, "--max-update", 40),
        "MNLI": finetune(glue_bin / "MNLI-bin", root / "MNLI", "--num-classes", 3, "--max-update", 1),
        "STS-B": finetune(glue_bin / "STS-B-bin", root / "STS-B", "--num-classes", 1, "--regression-target",
                          "--max-update", 1),
        "WNLI": finetune(glue_bin / "WNLI-bin", root / "WNLI", "--num-classes", 2, "--max-update", 1),
    }


def predict(checkpoint, data, out, check=True):
    return run_cli(["maelm-glue-predict", checkpoint, "--data", data, "--out", out], check=check, env=CPU_ENV)


def read_submission(path):
    lines = path.read_text().splitlines()
    assert lines[0] == "index\tprediction"
    return [tuple(line.split("\t")) for line in lines[1:]]


def train_labels(task, column):
    return [line.split("\t")[column] for line in open(f"{FIXTURES_GLUE}/{task}/train.tsv").read().splitlines()[1:]]


def test_rte_predictions_score_what_validation_reports(glue_bin, checkpoints, tmp_path):
    _, output = predict(checkpoints["RTE"], glue_bin / "RTE-bin", tmp_path)
    assert f"wrote {tmp_path / 'RTE.tsv'} (20 rows)" in output
    rows = read_submission(tmp_path / "RTE.tsv")
    assert [index for index, _ in rows] == [str(i) for i in range(20)]
    predicted = [label for _, label in rows]
    assert set(predicted) == {"entailment", "not_entailment"}, "a fitted model predicts both classes"
    accuracy = 100 * sum(p == t for p, t in zip(predicted, train_labels("RTE", 3))) / len(rows)

    _, validated = run_cli(["fairseq-validate", glue_bin / "RTE-bin", "--user-dir", "maelm_fairseq", "--task",
                            "sentence_prediction", "--criterion", "sentence_prediction", "--num-classes", 2,
                            "--init-token", 0, "--separator-token", 2, "--path", checkpoints["RTE"], "--valid-subset", "train", "--batch-size", 20, "--cpu",
                            "--num-workers", 0], env=CPU_ENV)
    reported = float(re.search(r"valid on 'train' subset .*\| accuracy ([\d.]+)", validated).group(1))
    assert accuracy == pytest.approx(reported, abs=0.01) and accuracy > 70.0


def test_mnli_writes_matched_mismatched_and_diagnostic(glue_bin, checkpoints, tmp_path):
    predict(checkpoints["MNLI"], glue_bin / "MNLI-bin", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["AX.tsv", "MNLI-m.tsv", "MNLI-mm.tsv"]
    matched, mismatched, ax = (read_submission(tmp_path / name) for name in ("MNLI-m.tsv", "MNLI-mm.tsv", "AX.tsv"))
    assert len(matched) == len(mismatched) == len(ax) == 20
    assert {label for _, label in matched} <= {"entailment", "neutral", "contradiction"}
    # the fixture's three test files hold the same sentence pairs: the same model answers them alike
    assert matched == mismatched == ax


def test_stsb_scores_on_the_benchmark_scale(glue_bin, checkpoints, tmp_path):
    predict(checkpoints["STS-B"], glue_bin / "STS-B-bin", tmp_path)
    rows = read_submission(tmp_path / "STS-B.tsv")
    assert len(rows) == 20 and all(0.0 <= float(score) <= 5.0 for _, score in rows)
    assert submission_score(0.5, 5.0) == "2.500"
    assert submission_score(-0.3, 5.0) == "0.000" and submission_score(1.4, 5.0) == "5.000"  # clipped to [0, 5]


@pytest.mark.parametrize("case", ["no test splits", "regression checkpoint", "class count"])
def test_bad_input_is_one_line(case, glue_bin, checkpoints, tmp_path):
    data = glue_bin / "RTE-bin"
    if case == "no test splits":
        data = tmp_path / "RTE-bin"
        shutil.copytree(glue_bin / "RTE-bin", data)
        (data / "submission.json").unlink()
        checkpoint, expected = checkpoints["RTE"], f"error: --data {data}: no submission.json — re-run preprocess"
    elif case == "regression checkpoint":
        checkpoint = checkpoints["STS-B"]
        expected = f"error: {checkpoint}: predicts a score (--regression-target), but {data} holds RTE — pass"
    else:
        checkpoint = checkpoints["MNLI"]
        expected = (f"error: {checkpoint}: 3 classes, but {data} has 2 labels (entailment, not_entailment) — pass "
                    "the checkpoint_best.pt of this task's fine-tuning")
    code, output = predict(checkpoint, data, tmp_path / "out", check=False)
    assert code == 2 and output.strip().splitlines()[-1].startswith(expected) and "Traceback" not in output
    assert not (tmp_path / "out").exists()



def test_wnli_completes_the_submission_with_its_0_1_labels(glue_bin, checkpoints, tmp_path):
    predict(checkpoints["WNLI"], glue_bin / "WNLI-bin", tmp_path)
    rows = read_submission(tmp_path / "WNLI.tsv")
    assert [index for index, _ in rows] == [str(i) for i in range(20)]
    assert {label for _, label in rows} <= {"0", "1"}
