"""End-to-end tests of preprocess/squad/prepare_squad.py on a tiny SQuAD v2.0 json with impossible questions."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fairseq.data import Dictionary

from maelm_fairseq.errors import UserInputError
from maelm_fairseq.squad.feature_file import answer_text, load_features
from preprocess.pretrain import prepare_corpus
from preprocess.squad import prepare_squad
from preprocess.tokenizers import load_tokenizer

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SQUAD = FIXTURES / "squad_v2_tiny.json"


def normalise(text):
    return " ".join(text.split())


@pytest.fixture(scope="module")
def pretrain_bin(tmp_path_factory):
    out = tmp_path_factory.mktemp("pretrain") / "bin"
    assert prepare_corpus.main(["--input", str(FIXTURES / "corpus.txt"), "--output", str(out), "--vocab-size", "700",
                         "--valid-fraction", "0.2"]) == 0
    return out


def prepare(out, pretrain_bin, *flags, train=SQUAD, valid=SQUAD):
    assert prepare_squad.main(["--train-json", str(train), "--valid-json", str(valid), "--tokenizer-dir", str(pretrain_bin),
                        "--output", str(out), *map(str, flags)]) == 0
    return out


@pytest.fixture(scope="module")
def default_features(tmp_path_factory, pretrain_bin):
    return prepare(tmp_path_factory.mktemp("squad"), pretrain_bin)


@pytest.fixture(scope="module")
def windowed_features(tmp_path_factory, pretrain_bin):
    return prepare(tmp_path_factory.mktemp("squad_small"), pretrain_bin, "--max-seq-length", 96, "--doc-stride", 32)


def test_layout_and_p_mask(default_features, pretrain_bin):
    stored = load_features(default_features / "train.pt")
    dictionary = Dictionary.load(str(default_features / "dict.txt"))
    tokenizer = load_tokenizer(pretrain_bin)
    assert stored["squad_version"] == "v2.0" and stored["max_seq_length"] == 384
    for feature in stored["features"]:
        example = stored["examples"][feature["example_index"]]
        ids, p_mask = feature["input_ids"].tolist(), feature["p_mask"].tolist()
        query = [dictionary.index(p) for p in tokenizer.encode(example["question"]).split()][:64]
        assert len(ids) == len(p_mask) == len(feature["offsets"]) == len(feature["token_is_max_context"]) <= 384
        assert ids[: len(query) + 3] == [dictionary.bos()] + query + [dictionary.eos()] * 2 and ids[-1] == dictionary.eos()
        assert p_mask == [0] + [1] * (len(query) + 2) + [0] * (len(ids) - len(query) - 4) + [1]
        assert all((feature["offsets"][i] >= 0).all() == (p_mask[i] == 0 and i > 0) for i in range(len(ids)))


def test_impossible_questions_point_at_cls(default_features):
    stored = load_features(default_features / "train.pt")
    impossible = [f for f in stored["features"] if f["is_impossible"]]
    assert {f["qas_id"] for f in impossible} == {"b4", "t3"}
    assert all(f["start_position"] == f["end_position"] == 0 for f in impossible)
    assert answer_text(stored["examples"][impossible[0]["example_index"]], impossible[0], 0, 0) == ""


@pytest.mark.parametrize("which", ["default_features", "windowed_features"])
def test_gold_spans_round_trip_to_gold_text(request, which):
    stored = load_features(request.getfixturevalue(which) / "train.pt")
    answered = set()
    for feature in stored["features"]:
        example = stored["examples"][feature["example_index"]]
        if feature["start_position"] > 0:
            text = answer_text(example, feature, feature["start_position"], feature["end_position"])
            assert normalise(text) == normalise(example["answers"][0]["text"])
            answered.add(example["qas_id"])
    assert answered == {e["qas_id"] for e in stored["examples"] if not e["is_impossible"]}


def test_window_flags_change_the_features(default_features, windowed_features, pretrain_bin, tmp_path):
    default = load_features(default_features / "valid.pt")["features"]
    windowed = load_features(windowed_features / "valid.pt")["features"]
    assert len(windowed) > len(default)
    assert max(len(f["input_ids"]) for f in windowed) == 96
    # Overlapping windows: each context token has exactly one window where it has maximal context.
    per_example = {}
    for feature in windowed:
        offsets = feature["offsets"][feature["token_is_max_context"]]
        per_example.setdefault(feature["example_index"], []).extend(offsets[:, 0].tolist())
    assert all(len(starts) == len(set(starts)) for starts in per_example.values())

    wider_stride = load_features(prepare(tmp_path / "a", pretrain_bin, "--max-seq-length", 96, "--doc-stride", 64) / "valid.pt")
    assert len(wider_stride["features"]) < len(windowed)
    short_query = load_features(prepare(tmp_path / "b", pretrain_bin, "--max-query-length", 3) / "valid.pt")
    assert all(f["p_mask"][:6].tolist() == [0, 1, 1, 1, 1, 1] and f["p_mask"][6] == 0 for f in short_query["features"])


def test_v1_json_is_read_as_v1(tmp_path, pretrain_bin):
    data = json.loads(SQUAD.read_text())
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            paragraph["qas"] = [{k: v for k, v in qa.items() if k != "is_impossible"} for qa in paragraph["qas"] if not qa["is_impossible"]]
    v1 = tmp_path / "v1.json"
    v1.write_text(json.dumps(data))
    stored = load_features(prepare(tmp_path / "out", pretrain_bin, train=v1, valid=v1) / "train.pt")
    assert stored["squad_version"] == "v1.1" and not any(f["is_impossible"] for f in stored["features"])


def test_unlocatable_answer_is_dropped_from_train_only(tmp_path, pretrain_bin, capsys):
    data = json.loads(SQUAD.read_text())
    data["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] += 3
    shifted = tmp_path / "shifted.json"
    shifted.write_text(json.dumps(data))
    out = prepare(tmp_path / "out", pretrain_bin, train=shifted, valid=shifted)
    assert "1 answers not found in the context (dropped)" in capsys.readouterr().out
    assert "b1" not in {f["qas_id"] for f in load_features(out / "train.pt")["features"]}
    assert {f["start_position"] for f in load_features(out / "valid.pt")["features"] if f["qas_id"] == "b1"} == {-1}


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid json"),
        ('{"version": "v2.0"}', "no top-level 'data' list"),
        ('{"data": [{"paragraphs": [{"context": "x", "qas": [{"id": "q", "question": "?", "answers": [{"text": "x"}]}]}]}]}',
         "malformed 'answers'"),
        ('{"data": [{"paragraphs": [{"context": "x", "qas": [{"id": "q", "question": "?", "answers": []}]}]}]}',
         "has no answer and is not marked is_impossible"),
    ],
)
def test_malformed_json_fails_clearly(tmp_path, pretrain_bin, content, message):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = subprocess.run(
        [sys.executable, str(REPO / "preprocess" / "squad" / "prepare_squad.py"), "--valid-json", str(bad),
         "--tokenizer-dir", str(pretrain_bin), "--output", str(tmp_path / "out")],
        capture_output=True, text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: {bad}: ") and message in last


def test_missing_dict_is_one_line(tmp_path, pretrain_bin):
    tokenizer_dir = tmp_path / "bin"
    shutil.copytree(pretrain_bin, tokenizer_dir)
    (tokenizer_dir / "dict.txt").unlink()
    result = subprocess.run(
        [sys.executable, str(REPO / "preprocess" / "squad" / "prepare_squad.py"), "--valid-json", str(SQUAD),
         "--tokenizer-dir", str(tokenizer_dir), "--output", str(tmp_path / "out")],
        capture_output=True, text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {tokenizer_dir / 'dict.txt'}: dictionary not found; --tokenizer-dir must be the pretraining "
        f"data-bin, which holds dict.txt next to tokenizer.json (preprocess/pretrain/prepare_corpus.py writes both)")
    assert not (tmp_path / "out").exists()


def test_non_sentencepiece_bin_is_refused(tmp_path, capsys):
    gpt2_bin = tmp_path / "gpt2"
    assert prepare_corpus.main(["--input", str(FIXTURES / "corpus.txt"), "--output", str(gpt2_bin), "--tokenizer", "gpt2",
                         "--gpt2-encoder-json", str(FIXTURES / "gpt2" / "encoder.json"),
                         "--gpt2-vocab-bpe", str(FIXTURES / "gpt2" / "vocab.bpe"), "--valid-fraction", "0.2"]) == 0
    assert prepare_squad.main(["--valid-json", str(SQUAD), "--tokenizer-dir", str(gpt2_bin),
                               "--output", str(tmp_path / "o")]) == 2
    assert "SQuAD needs sentencepiece" in capsys.readouterr().err


def test_load_features_rejects_other_files(tmp_path):
    import torch

    torch.save({"features": []}, tmp_path / "other.pt")
    with pytest.raises(UserInputError, match="other.pt is not a maelm-squad-features v1 file: write it with "
                                             "preprocess/squad/prepare_squad.py"):
        load_features(tmp_path / "other.pt")
