"""maelm-squad-predict writes the official submission files (predictions.json, null_odds.json) of a fine-tuned
checkpoint; scored as the official script scores files, they give the metrics that validation logs."""
import json
import math
import re

import pytest

from finetune_fixtures import CPU_ENV, SQUAD_JSON, SQUAD_V2_METRICS
from helpers import run_cli
from maelm_fairseq.errors import UserInputError
from maelm_fairseq.squad.evaluate import evaluate_prediction_files, read_gold_answers

def logged_metrics(line):
    """{metric: value} of the `name value` fields of a validation line or of the printed metrics."""
    return {k: float(v) for k, v in re.findall(r"(?:^|\| )(\w+) (-?[\d.]+|-?inf)(?= \||$)", line)}


def printed_metrics(output):
    return logged_metrics(next(line for line in output.splitlines() if line.startswith("exact ")))


@pytest.fixture(scope="module")
def finetuned(squad_run):
    return squad_run[0] / "checkpoint_best.pt"


@pytest.fixture(scope="module")
def validated(finetuned, squad_data):
    """What validation logs for the checkpoint (the batch size it was fine-tuned with, as the predictions use)."""
    _, output = run_cli(["fairseq-validate", squad_data, "--user-dir", "maelm_fairseq", "--task", "maelm_squad",
                         "--path", finetuned, "--valid-subset", "valid", "--batch-size", 16, "--cpu",
                         "--num-workers", 0], env=CPU_ENV)
    line = next(line for line in output.splitlines() if "valid on 'valid' subset" in line)
    return logged_metrics(line.split("valid on 'valid' subset", 1)[1])


@pytest.fixture(scope="module")
def predicted(finetuned, squad_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("squad_submission")
    _, output = run_cli(["maelm-squad-predict", finetuned, "--data", squad_data, "--out", out], env=CPU_ENV)
    return out, output


def test_files_scored_officially_equal_the_validation_metrics(validated, predicted):
    out, output = predicted
    assert sorted(p.name for p in out.iterdir()) == ["null_odds.json", "predictions.json"]
    answers = json.loads((out / "predictions.json").read_text())
    null_odds = json.loads((out / "null_odds.json").read_text())
    golds = read_gold_answers(SQUAD_JSON)
    assert list(answers) == list(null_odds) == list(golds)  # every question, in the json's order
    assert all(isinstance(a, str) for a in answers.values()) and all(isinstance(v, float) for v in null_odds.values())
    # the checkpoint's --null-score-diff-threshold (0.0) decided which answers are ""
    assert all((answers[q] == "") == (null_odds[q] > 0.0) for q in answers if not math.isinf(null_odds[q]))
    assert "" in answers.values() and any(answers.values()), "need both kinds of answers for a meaningful check"

    official = evaluate_prediction_files(SQUAD_JSON, out / "predictions.json", out / "null_odds.json")
    for name in SQUAD_V2_METRICS:
        assert official[name] == pytest.approx(validated[name], abs=1e-3), name
    printed = printed_metrics(output)
    for name in SQUAD_V2_METRICS:
        assert printed[name] == pytest.approx(validated[name], abs=1e-3), name


def test_threshold_flag_decides_the_null_answers(finetuned, squad_data, predicted, tmp_path):
    _, output = run_cli(["maelm-squad-predict", finetuned, "--data", squad_data, "--out", tmp_path,
                         "--null-score-diff-threshold", "-1000"], env=CPU_ENV)
    answers = json.loads((tmp_path / "predictions.json").read_text())
    assert set(answers.values()) == {""}  # every null score minus span score is above -1000
    official = evaluate_prediction_files(SQUAD_JSON, tmp_path / "predictions.json", tmp_path / "null_odds.json")
    assert official["exact"] == pytest.approx(100 * 2 / 9)  # the 2 unanswerable of 9 questions
    assert printed_metrics(output)["exact"] == pytest.approx(official["exact"], abs=1e-3)


@pytest.fixture(scope="module")
def squad_v1(sp_data_bin, tmp_path_factory):
    """The fixture's answerable questions as a v1.1 json (no is_impossible fields) and its features."""
    data = json.loads(open(SQUAD_JSON).read())
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            paragraph["qas"] = [{k: v for k, v in qa.items() if k not in ("is_impossible", "plausible_answers")}
                                for qa in paragraph["qas"] if not qa["is_impossible"]]
    root = tmp_path_factory.mktemp("squad_v1")
    (root / "dev-v1.1.json").write_text(json.dumps(data))
    run_cli(["python", "preprocess/squad/prepare_squad.py", "--valid-json", root / "dev-v1.1.json", "--tokenizer-dir",
             sp_data_bin, "--out", root / "features", "--max-seq-length", 256, "--doc-stride", 128])
    return root / "dev-v1.1.json", root / "features"


def test_v1_writes_predictions_only_and_refuses_the_threshold(finetuned, squad_v1, tmp_path):
    json_path, features = squad_v1
    _, output = run_cli(["maelm-squad-predict", finetuned, "--data", features, "--out", tmp_path / "v1"],
                        env=CPU_ENV)
    assert [p.name for p in (tmp_path / "v1").iterdir()] == ["predictions.json"]
    official = evaluate_prediction_files(json_path, tmp_path / "v1" / "predictions.json")
    printed = printed_metrics(output)
    assert printed["total"] == 7 and "best_f1" not in printed and "NoAns_total" not in printed
    assert official["f1"] == pytest.approx(printed["f1"], abs=1e-3)
    assert official["exact"] == pytest.approx(printed["exact"], abs=1e-3)

    code, output = run_cli(["maelm-squad-predict", finetuned, "--data", features, "--out", tmp_path / "t",
                            "--null-score-diff-threshold", "1"], check=False)
    assert code == 2 and output.strip().splitlines()[-1] == (
        f"error: --null-score-diff-threshold: {features}/valid.pt holds SQuAD v1.1 questions, which are all "
        "answerable — drop the flag")


@pytest.mark.parametrize("case", ["missing checkpoint", "pretraining checkpoint", "no features"])
def test_bad_input_is_one_line(case, pretrained_checkpoint, squad_data, tmp_path):
    checkpoint, data = pretrained_checkpoint, squad_data
    if case == "missing checkpoint":
        checkpoint = tmp_path / "nope.pt"
        expected = f"error: {checkpoint}: no such checkpoint file — pass the checkpoint_best.pt"
    elif case == "pretraining checkpoint":
        expected = f"error: {checkpoint}: a --task maelm checkpoint, not maelm_squad — pass the checkpoint_best.pt"
    else:
        data = tmp_path
        expected = f"error: --data {tmp_path}: no valid.pt — write it with preprocess/squad/prepare_squad.py"
    code, output = run_cli(["maelm-squad-predict", checkpoint, "--data", data, "--out", tmp_path / "o"],
                           check=False, env=CPU_ENV)
    assert code == 2 and output.strip().splitlines()[-1].startswith(expected) and "Traceback" not in output


def write_json(path, content):
    path.write_text(json.dumps(content))
    return path


def test_file_scoring_by_hand_and_its_refusals(tmp_path):
    qas = [{"id": "a", "answers": [{"text": "Paris"}]}, {"id": "b", "answers": []},
           {"id": "c", "answers": [{"text": "blue whale"}]}, {"id": "d", "answers": []}]
    dataset = write_json(tmp_path / "dev.json", {"version": "v2.0", "data": [{"paragraphs": [{"qas": qas}]}]})
    predictions = write_json(tmp_path / "p.json", {"a": "Paris", "b": "", "c": "whale", "d": "London", "x": "extra"})
    null_odds = write_json(tmp_path / "n.json", {"a": -2.0, "b": 3.0, "c": 0.5, "d": 1.5})
    result = evaluate_prediction_files(dataset, predictions, null_odds)
    # d's null odds 1.5 > the official default threshold 1.0: scored as "" (right); c: F1 2/3
    assert result["exact"] == pytest.approx(75.0) and result["f1"] == pytest.approx(100 * (3 + 2 / 3) / 4)
    assert result["total"] == 4 and result["best_f1_thresh"] == 0.5
    assert evaluate_prediction_files(dataset, predictions, null_odds, null_threshold=2.0)["exact"] == 50.0
    assert "best_f1" not in evaluate_prediction_files(dataset, predictions)

    with pytest.raises(UserInputError, match=r"p2.json: no answer to 1 of the 4 questions .* \(first: d\)"):
        evaluate_prediction_files(dataset, write_json(tmp_path / "p2.json", {"a": "", "b": "", "c": ""}))
    with pytest.raises(UserInputError, match=r"n2.json: no null odds for 1 questions \(first: a\)"):
        evaluate_prediction_files(dataset, predictions, write_json(tmp_path / "n2.json", {"b": 0, "c": 0, "d": 0}))
