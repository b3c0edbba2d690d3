"""End-to-end tests of preprocess/glue/prepare_glue.py on the GLUE-shaped fixture tsv files."""
import json
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from fairseq import options, tasks
from fairseq.data import Dictionary, data_utils

from preprocess.glue import prepare_glue
from preprocess.glue.tasks import GLUE_TASKS
from preprocess.pretrain import prepare_corpus
from preprocess.tokenizers import load_tokenizer

from helpers import fairseq_train, record_workers

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
GLUE = FIXTURES / "glue"


def tsv_rows(path, has_header=True):
    lines = path.read_text().splitlines()
    return [line.split("\t") for line in (lines[1:] if has_header else lines)]


@pytest.fixture(scope="module")
def rte_sentences(tmp_path_factory):
    """The first sentences of RTE train, one per line: encoded by the pretraining path as its valid split."""
    path = tmp_path_factory.mktemp("rte") / "rte_sentence1.txt"
    path.write_text("".join(row[1] + "\n" for row in tsv_rows(GLUE / "RTE" / "train.tsv")))
    return path


@pytest.fixture(scope="module")
def pretrain_bin(tmp_path_factory, rte_sentences):
    out = tmp_path_factory.mktemp("pretrain") / "bin"
    assert prepare_corpus.main(["--input", str(FIXTURES / "corpus.txt"), "--output", str(out), "--vocab-size", "700",
                         "--valid-input", str(rte_sentences)]) == 0
    return out


@pytest.fixture(scope="module")
def glue_out(tmp_path_factory, pretrain_bin):
    out = tmp_path_factory.mktemp("glue")
    assert prepare_glue.main(["--glue-dir", str(GLUE), "--tasks", "ALL", "--tokenizer-dir", str(pretrain_bin), "--output", str(out)]) == 0
    return out


def load(directory, split, dictionary=None):
    dictionary = dictionary or Dictionary.load(str(Path(directory, "dict.txt")))
    dataset = data_utils.load_indexed_dataset(str(Path(directory, split)), dictionary)
    assert dataset is not None, f"{directory}/{split} did not load"
    return dictionary, dataset


@pytest.mark.parametrize("name", sorted(GLUE_TASKS))
def test_every_task_loads_and_decodes_to_the_tsv_text(glue_out, pretrain_bin, name):
    task = GLUE_TASKS[name]
    tokenizer = load_tokenizer(pretrain_bin)
    task_bin = glue_out / f"{name}-bin"
    assert sorted(p.name for p in task_bin.iterdir()) == sorted(
        [f"input{i}" for i in range(len(task.input_columns))] + ["label", "submission.json"])
    for split_name, split in task.splits.items():
        rows = tsv_rows(GLUE / task.folder / split.filename, split.has_header)
        for column_index, column in enumerate(task.input_columns):
            dictionary, dataset = load(task_bin / f"input{column_index}", split_name)
            assert (task_bin / f"input{column_index}" / "dict.txt").read_text() == (pretrain_bin / "dict.txt").read_text()
            assert len(dataset) == len(rows)
            for item, row in zip(dataset, rows):
                decoded = tokenizer.decode([dictionary[i] for i in item[:-1].tolist()])
                assert decoded == " ".join(unicodedata.normalize("NFKC", row[column]).split())
        labels = [row[split.label_column] for row in rows]
        if task.regression:
            stored = [float(x) for x in (task_bin / "label" / f"{split_name}.label").read_text().split()]
            assert stored == pytest.approx([float(x) / 5 for x in labels], abs=1e-6)
            assert all(0.0 <= x <= 1.0 for x in stored)
        else:
            label_dict, dataset = load(task_bin / "label", split_name)
            assert [label_dict[item[0]] for item in dataset] == labels

    submission = json.loads((task_bin / "submission.json").read_text())
    assert submission["regression_scale"] == (5.0 if task.regression else None)
    assert [entry["file"] for entry in submission["splits"].values()] == [spec.submission for spec in task.tests]
    for split_name, spec in zip(submission["splits"], task.tests):  # every fixture has every test file
        rows = tsv_rows(GLUE / spec.path)
        assert submission["splits"][split_name]["index"] == [row[0] for row in rows]
        for column_index, column in enumerate(spec.input_columns):
            dictionary, dataset = load(task_bin / f"input{column_index}", split_name)
            decoded = [tokenizer.decode([dictionary[i] for i in item[:-1].tolist()]) for item in dataset]
            assert decoded == [" ".join(unicodedata.normalize("NFKC", row[column]).split()) for row in rows]
        assert not (task_bin / "label" / f"{split_name}.bin").exists()


def test_mnli_test_splits_are_numbered_as_fairseq_does(glue_out):
    splits = json.loads((glue_out / "MNLI-bin" / "submission.json").read_text())["splits"]
    assert {name: entry["file"] for name, entry in splits.items()} == {
        "test": "MNLI-m.tsv", "test1": "MNLI-mm.tsv", "test2": "AX.tsv"}


def test_test_splits_are_optional(tmp_path, pretrain_bin):
    glue = tmp_path / "glue"
    shutil.copytree(GLUE / "RTE", glue / "RTE")
    (glue / "RTE" / "test.tsv").unlink()
    assert prepare_glue.main(["--glue-dir", str(glue), "--tasks", "RTE", "--tokenizer-dir", str(pretrain_bin), "--output", str(tmp_path)]) == 0
    assert not (tmp_path / "RTE-bin" / "submission.json").exists()
    assert not list((tmp_path / "RTE-bin" / "input0").glob("test*"))


def test_a_bad_test_row_fails_even_with_skip_bad_rows(tmp_path, pretrain_bin, capsys):
    glue = tmp_path / "glue"
    shutil.copytree(GLUE / "QQP", glue / "QQP")
    path = glue / "QQP" / "test.tsv"
    lines = path.read_text().splitlines()
    lines[4] = lines[4].replace("\t", " ", 1)  # line 5: one field short
    path.write_text("\n".join(lines) + "\n")
    assert prepare_glue.main(["--glue-dir", str(glue), "--tasks", "QQP", "--tokenizer-dir", str(pretrain_bin),
                              "--output", str(tmp_path / "o"), "--skip-bad-rows"]) == 2
    err = capsys.readouterr().err
    assert f"error: {path}: 1 row(s) without 3 tab-separated fields and an index (line 5)" in err
    assert "test rows cannot be dropped" in err


def test_mnli_has_matched_and_mismatched_dev(glue_out):
    _, matched = load(glue_out / "MNLI-bin" / "input0", "valid")
    dictionary, mismatched = load(glue_out / "MNLI-bin" / "input0", "valid1")
    assert len(matched) == len(mismatched) == 8
    assert [t.tolist() for t in matched] != [t.tolist() for t in mismatched]


def test_same_sentence_same_ids_as_pretraining(glue_out, pretrain_bin):
    _, pretraining = load(pretrain_bin, "valid")
    _, glue = load(glue_out / "RTE-bin" / "input0", "train")
    assert [t.tolist() for t in pretraining] == [t.tolist() for t in glue]


def setup(data_bin, *flags):
    args = options.parse_args_and_arch(options.get_training_parser(), [str(data_bin), "--arch", "roberta_base", *flags])
    return tasks.setup_task(args)


def test_mask_index_is_identical_in_pretraining_and_fine_tuning(glue_out, pretrain_bin):
    pretraining = setup(pretrain_bin, "--task", "masked_lm")
    fine_tuning = setup(glue_out / "RTE-bin", "--task", "sentence_prediction", "--num-classes", "2")
    assert len(pretraining.source_dictionary) == len(fine_tuning.source_dictionary)
    mask = pretraining.mask_idx
    assert mask == len(pretraining.source_dictionary) - 1 == fine_tuning.source_dictionary.index("<mask>")
    assert fine_tuning.source_dictionary[len(fine_tuning.source_dictionary) - 1] == "<mask>"


def test_tasks_flag_selects_tasks(tmp_path, pretrain_bin):
    assert prepare_glue.main(["--glue-dir", str(GLUE), "--tasks", "RTE", "CoLA", "--tokenizer-dir", str(pretrain_bin),
                       "--output", str(tmp_path), "--workers", "2"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["CoLA-bin", "RTE-bin"]


def test_workers_give_identical_output(tmp_path, pretrain_bin, glue_out, monkeypatch):
    seen = record_workers(monkeypatch)
    assert prepare_glue.main(["--glue-dir", str(GLUE), "--tasks", "MRPC", "--tokenizer-dir", str(pretrain_bin),
                       "--output", str(tmp_path), "--workers", "2"]) == 0
    assert seen and set(seen) == {2}
    for part in ("input0/train.bin", "input1/valid.bin", "label/train.bin"):
        assert (tmp_path / "MRPC-bin" / part).read_bytes() == (glue_out / "MRPC-bin" / part).read_bytes()


@pytest.fixture
def broken_rte(tmp_path):
    glue = tmp_path / "glue"
    shutil.copytree(GLUE / "RTE", glue / "RTE")
    lines = (glue / "RTE" / "train.tsv").read_text().splitlines()
    lines[2] = lines[2].replace("\t", " ", 1)  # line 3: one field short
    lines[6] = lines[6] + "\textra"  # line 7: one field too many
    (glue / "RTE" / "train.tsv").write_text("\n".join(lines) + "\n")
    return glue


def test_bad_rows_fail_with_line_numbers(broken_rte, pretrain_bin, tmp_path, capsys):
    assert prepare_glue.main(["--glue-dir", str(broken_rte), "--tasks", "RTE", "--tokenizer-dir", str(pretrain_bin),
                              "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {broken_rte / 'RTE' / 'train.tsv'}: 2 row(s) without 4 tab-separated fields")
    assert "(line 3, 7)" in err and "--skip-bad-rows" in err


def test_skip_bad_rows_drops_and_reports(broken_rte, pretrain_bin, tmp_path, capsys):
    assert prepare_glue.main(["--glue-dir", str(broken_rte), "--tasks", "RTE", "--tokenizer-dir", str(pretrain_bin),
                       "--output", str(tmp_path / "out"), "--skip-bad-rows"]) == 0
    assert "train 18 rows (2 bad rows dropped)" in capsys.readouterr().out
    _, dataset = load(tmp_path / "out" / "RTE-bin" / "input0", "train")
    assert len(dataset) == 18


def test_rerun_replaces_the_task_bin_and_a_failed_rerun_keeps_it(broken_rte, pretrain_bin, tmp_path, capsys):
    out = ["--tokenizer-dir", str(pretrain_bin), "--output", str(tmp_path / "out")]
    assert prepare_glue.main(["--glue-dir", str(broken_rte), "--tasks", "RTE", "--skip-bad-rows", *out]) == 0
    assert prepare_glue.main(["--glue-dir", str(GLUE), "--tasks", "RTE", *out]) == 0  # label dict.txt rewritten
    full = len(load(tmp_path / "out" / "RTE-bin" / "input0", "train")[1])
    assert full == 20
    assert prepare_glue.main(["--glue-dir", str(broken_rte), "--tasks", "RTE", *out]) == 2  # bad rows: fails
    assert len(load(tmp_path / "out" / "RTE-bin" / "input0", "train")[1]) == full
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.name.startswith("RTE")) == ["RTE-bin"]


def test_bad_stsb_score_is_a_bad_row(tmp_path, pretrain_bin, capsys):
    glue = tmp_path / "glue"
    shutil.copytree(GLUE / "STS-B", glue / "STS-B")
    path = glue / "STS-B" / "dev.tsv"
    path.write_text(path.read_text().replace("\t0.370\n", "\t7.5\n"))
    assert prepare_glue.main(["--glue-dir", str(glue), "--tasks", "STS-B", "--tokenizer-dir", str(pretrain_bin),
                              "--output", str(tmp_path / "o")]) == 2
    assert "(line 3)" in capsys.readouterr().err


def test_missing_task_folder_fails_clearly(tmp_path, pretrain_bin):
    result = subprocess.run(
        [sys.executable, str(REPO / "preprocess" / "glue" / "prepare_glue.py"), "--glue-dir", str(GLUE.parent),
         "--tasks", "QNLI", "--tokenizer-dir", str(pretrain_bin), "--output", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: {GLUE.parent / 'QNLI'}: GLUE task folder for QNLI not found — download GLUE or fix --glue-dir"
    )
    assert "Traceback" not in result.stderr


def test_tokenizer_dir_must_be_a_pretraining_bin(tmp_path, capsys):
    assert prepare_glue.main(["--glue-dir", str(GLUE), "--tasks", "RTE", "--tokenizer-dir", str(tmp_path),
                              "--output", str(tmp_path)]) == 2
    assert "no tokenizer manifest" in capsys.readouterr().err


def test_stock_sentence_prediction_trains_on_the_bin(glue_out, tmp_path):
    fairseq_train(glue_out / "RTE-bin", tmp_path, "--task", "sentence_prediction", "--criterion", "sentence_prediction",
                  "--num-classes", "2", "--init-token", "0", "--separator-token", "2", "--max-positions", "512")
