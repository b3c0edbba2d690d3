"""Bad input battery: each mistake gives one clear error naming the file/flag and the fix, a non-zero exit, and
nothing overwritten. Most cases run `maelm-train` in-process (its exit status and `error:` line); two run the
real console scripts to check the one-line form and fairseq-train's last line."""
import argparse
import hashlib
import os
import shutil
import sys

import numpy as np
import pytest
import torch

from helpers import TINY_TRAIN, run_cli, train_in_process
from maelm_fairseq.errors import UserInputError

ONE_UPDATE = ["--task", "maelm", "--criterion", "maelm", "--arch", "maelm_tiny", "--max-update", 1,
              "--disable-validation"] + TINY_TRAIN


def maelm_train(capsys, data, save_dir, *extra):
    """`maelm-train DATA ... --save-dir SAVE_DIR` in-process: (exit status, the `error:` line or None)."""
    status, errors = train_in_process(capsys, [data, *ONE_UPDATE, "--save-dir", save_dir, *extra])
    return status, errors[-1] if errors else None


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def no_checkpoints(save_dir):
    return not os.path.isdir(save_dir) or not [f for f in os.listdir(save_dir) if f.endswith(".pt")]


@pytest.fixture
def data(word_data_bin, tmp_path):
    """A private copy of the shared data-bin, to be damaged."""
    return shutil.copytree(word_data_bin, tmp_path / "bin")


def expect(capsys, data_dir, save_dir, match, *extra):
    status, line = maelm_train(capsys, data_dir, save_dir, *extra)
    assert status == 2 and line is not None, line
    for part in match:
        assert part in line, line
    assert no_checkpoints(save_dir)
    return line


def test_missing_data_dir(capsys, tmp_path):
    expect(capsys, tmp_path / "nope", tmp_path / "ck", [f"{tmp_path / 'nope'}: data directory not found",
                                                         "fairseq-preprocess"])


def test_missing_dict(capsys, data, tmp_path):
    os.remove(data / "dict.txt")
    expect(capsys, data, tmp_path / "ck", [f"{data / 'dict.txt'}: dictionary not found"])


@pytest.mark.parametrize("content", [b"the\nof 12\n", b"\x89PNG\r\n\x1a\n\xff\xfe", b"a 1\na 2\n", b""])
def test_garbled_dict(capsys, data, tmp_path, content):
    (data / "dict.txt").write_bytes(content)
    expect(capsys, data, tmp_path / "ck", [f"{data / 'dict.txt'}: ", "fairseq-preprocess"])


def test_data_binarized_with_another_dictionary(capsys, data, tmp_path):
    lines = (data / "dict.txt").read_text().splitlines()
    (data / "dict.txt").write_text("\n".join(lines[:100]) + "\n")
    line = expect(capsys, data, tmp_path / "ck", [".bin: token id", "has only 105 symbols", "--srcdict"])
    assert line.startswith((f"error: {data / 'train.bin'}", f"error: {data / 'valid.bin'}"))


@pytest.mark.parametrize("damage", ["truncated_bin", "truncated_idx", "swapped_bin", "missing_bin",
                                    "garbage_idx"])
def test_damaged_bin_idx(capsys, data, tmp_path, damage):
    if damage == "truncated_bin":
        os.truncate(data / "train.bin", os.path.getsize(data / "train.bin") - 10)
        culprit = "train.bin"
    elif damage == "truncated_idx":
        os.truncate(data / "train.idx", os.path.getsize(data / "train.idx") // 2)
        culprit = "train.idx"
    elif damage == "swapped_bin":
        shutil.copy(data / "valid.bin", data / "train.bin")
        culprit = "train.bin"
    elif damage == "missing_bin":
        os.remove(data / "train.bin")
        culprit = "train.bin"
    else:
        (data / "train.idx").write_bytes(b"MMIDIDX\x00\x00" + b"\x01" + b"\x00" * 7 + b"\xee")
        culprit = "train.idx"
    expect(capsys, data, tmp_path / "ck", [f"{data / culprit}: ", "fairseq-preprocess"])


def test_missing_valid_split(capsys, data, tmp_path):
    os.remove(data / "valid.bin")
    os.remove(data / "valid.idx")
    with_validation = [a for a in ONE_UPDATE if a != "--disable-validation"]
    from maelm_fairseq.cli import run_train

    argv = sys.argv
    try:
        status = run_train([str(a) for a in [data, *with_validation, "--save-dir", tmp_path / "ck"]])
    finally:
        sys.argv = argv
    err = capsys.readouterr().err
    assert status == 2 and f"error: {data / 'valid'}.bin/.idx: no `valid` split" in err and "--valid-subset" in err


def write_split(directory, split, lines, dictionary):
    """Binarize token-id lines the way fairseq-preprocess does (mmap builder)."""
    from fairseq.data import indexed_dataset

    builder = indexed_dataset.make_builder(str(directory / f"{split}.bin"), "mmap", vocab_size=len(dictionary))
    for ids in lines:
        builder.add_item(torch.tensor(ids + [dictionary.eos()], dtype=torch.int32))
    builder.finalize(str(directory / f"{split}.idx"))


def test_empty_corpus(capsys, data, tmp_path):
    from fairseq.data import Dictionary

    write_split(data, "train", [], Dictionary.load(str(data / "dict.txt")))
    os.truncate(data / "train.bin", 0)
    expect(capsys, data, tmp_path / "ck", [f"{data / 'train'}.bin: the `train` split has no samples"])


def test_corpus_of_blank_lines(capsys, data, tmp_path):
    from fairseq.data import Dictionary

    write_split(data, "train", [[], [], []], Dictionary.load(str(data / "dict.txt")))
    expect(capsys, data, tmp_path / "ck", [f"{data / 'train'}.bin: the `train` split has no samples"])


def test_corpus_of_one_very_long_line_trains_on_cropped_samples(capsys, data, tmp_path):
    from fairseq.data import Dictionary

    from maelm_fairseq.cli import run_train

    dictionary = Dictionary.load(str(data / "dict.txt"))
    rng = np.random.default_rng(0)
    write_split(data, "train", [rng.integers(dictionary.nspecial, len(dictionary), 20000).tolist()], dictionary)
    argv = sys.argv
    try:
        status = run_train([str(a) for a in [data, *ONE_UPDATE, "--save-dir", tmp_path / "ck", "--no-save",
                                             "--max-update", 2, "--log-interval", 1]])
    finally:
        sys.argv = argv
    assert status == 0
    from maelm_fairseq.pretrain.task import MaelmConfig, MaelmTask

    task = MaelmTask.setup_task(MaelmConfig(data=str(data), tokens_per_sample=128, seed=1))
    task.load_dataset("train")
    assert list(task.dataset("train").sizes) == [128]  # one sample, random-cropped to the positions


@pytest.mark.parametrize("flags, message", [
    (["--mask-prob", 0], "--mask-prob must be in (0, 1), got 0.0"),
    (["--mask-prob", 1], "--mask-prob must be in (0, 1), got 1.0"),
    (["--tokens-per-sample", 600], "--tokens-per-sample 600 exceeds the model's --max-positions 512"),
    (["--decoder-layers", 0, "--decoder-type", "cross"], "--decoder-type cross needs a decoder"),
    (["--arch", "maelm_mlm_base", "--mask-embedding", "learned"], "--mask-embedding learned needs a decoder"),
    (["--decoder-attention-heads", 3], "--decoder-attention-heads 3 must divide --decoder-embed-dim 64"),
    (["--decoder-layers", 0, "--decoder-rel-pos", 1], "--decoder-rel-pos 1 needs a decoder"),
    (["--rel-pos", 0, "--rel-pos-init", "local"], "--rel-pos-init local starts a relative-position bias, but the"),
])
def test_bad_flags(capsys, word_data_bin, tmp_path, flags, message):
    expect(capsys, word_data_bin, tmp_path / "ck", [message], *flags)


@pytest.mark.parametrize("flags, message", [
    (["--rel-pos-bins", 6], "--rel-pos-bins 6: not a multiple of 4 of at least 8 (--arch maelm_tiny) — use 32, 64 "
                            "(maelm_base) or 128 (maelm_large)"),
    (["--max-rel-pos", 9], "--max-rel-pos 9: too small for --rel-pos-bins 32 (--arch maelm_tiny) — give at least "
                           "10; the archs use 2 x --rel-pos-bins"),
    (["--rel-pos", 0, "--decoder-rel-pos", 1, "--rel-pos-bins", 10],  # the decoder's table is checked too
     "--rel-pos-bins 10: not a multiple of 4 of at least 8"),
])
def test_bad_relative_position_flags(capsys, word_data_bin, tmp_path, flags, message):
    """Checked with the other model flags, before any module is built (not a ValueError from the bias module)."""
    status, line = maelm_train(capsys, word_data_bin, tmp_path / "ck", *flags)
    assert status == 2 and line.startswith(f"error: {message}"), line
    if len(flags) == 2:
        assert line == f"error: {message}"
    assert no_checkpoints(tmp_path / "ck")


FIX_PAIRING = ("pretrain with --task maelm (or masked_lm), or fine-tune with the task's own criterion "
               "(sentence_prediction: --criterion sentence_prediction or maelm_sentence_prediction; maelm_squad: "
               "--criterion maelm_squad)")
SQUAD_ONE_UPDATE = ["--task", "maelm_squad", "--arch", "maelm_tiny", "--max-update", 1, "--disable-validation",
                    "--optimizer", "adam", "--lr", 1e-3, "--batch-size", 4, "--cpu", "--num-workers", 0]


def test_masked_lm_criterion_with_the_squad_task(capsys, squad_data, tmp_path):
    status, errors = train_in_process(capsys, [squad_data, *SQUAD_ONE_UPDATE, "--criterion", "maelm",
                                               "--save-dir", tmp_path / "ck"])
    assert status == 2 and errors == ["error: --criterion maelm: predicts masked tokens, but --task maelm_squad is "
                                      f"not a masked-LM task — {FIX_PAIRING}"]
    assert no_checkpoints(tmp_path / "ck")


def test_squad_criterion_with_the_pretraining_task(capsys, word_data_bin, tmp_path):
    status, errors = train_in_process(capsys, [word_data_bin, *ONE_UPDATE, "--criterion", "maelm_squad",
                                               "--save-dir", tmp_path / "ck"])
    assert status == 2 and errors == [
        "error: --criterion maelm_squad: needs --task maelm_squad, which adds the span head and reads SQuAD "
        "features, but got --task maelm — fine-tune SQuAD with --task maelm_squad --criterion maelm_squad on the "
        "output of preprocess/squad/prepare_squad.py"]
    assert no_checkpoints(tmp_path / "ck")


def test_token_predictions_from_an_encoder_built_for_fine_tuning():
    """No fairseq task/criterion pair reaches it from the command line (fairseq refuses them first); a script that
    asks a fine-tuning model for logits gets the same kind of line."""
    from model_factory import TINY, batch, build, finetuning_task, pretraining_task

    task = pretraining_task()
    model = build("maelm_tiny", finetuning_task(task), **TINY)
    src, _ = batch(task)
    with pytest.raises(UserInputError) as caught:
        model(src)
    assert str(caught.value) == ("--task: not a masked-LM task, so the maelm model was built without its LM head (the "
                                 f"encoder alone) and cannot predict tokens — {FIX_PAIRING}")


def test_dictionary_without_mask_for_a_decoder():
    from model_factory import TINY, build, pretraining_task
    from fairseq.data import Dictionary

    task = pretraining_task()
    task.dictionary = Dictionary()  # a masked-LM task whose dictionary never got <mask>
    with pytest.raises(UserInputError, match="--decoder-layers > 0 needs a `<mask>` symbol"):
        build("maelm_tiny", task, **TINY)


@pytest.fixture
def trained(word_data_bin, tmp_path, capsys):
    """A save-dir holding a 1-update maelm_tiny checkpoint_last.pt."""
    from maelm_fairseq.cli import run_train

    argv = sys.argv
    try:
        assert run_train([str(a) for a in [word_data_bin, *ONE_UPDATE, "--save-dir", tmp_path / "ck"]]) == 0
    finally:
        sys.argv = argv
    capsys.readouterr()
    return tmp_path / "ck"


def test_restore_with_another_dictionary(capsys, data, trained):
    before = digest(trained / "checkpoint_last.pt")
    with open(data / "dict.txt", "a") as f:
        f.write("".join(f"extra{i} 1\n" for i in range(10)))
    status, line = maelm_train(capsys, data, trained, "--max-update", 2)
    assert status == 2 and line.startswith(f"error: {data / 'dict.txt'}: vocabulary size mismatch"), line
    assert f"rows in checkpoint {trained / 'checkpoint_last.pt'}" in line and "--srcdict" in line and digest(trained / "checkpoint_last.pt") == before


def test_restore_into_another_arch_or_size(capsys, word_data_bin, trained):
    before = digest(trained / "checkpoint_last.pt")
    status, line = maelm_train(capsys, word_data_bin, trained, "--max-update", 2, "--encoder-embed-dim", 32,
                               "--encoder-ffn-embed-dim", 64)
    assert status == 2 and line.startswith(f"error: --arch maelm_tiny: checkpoint {trained / 'checkpoint_last.pt'}"), line
    assert "another architecture or size" in line and digest(trained / "checkpoint_last.pt") == before


def test_finetuning_model_refuses_a_checkpoint_of_another_size():
    from model_factory import TINY, build, finetuning_task, pretraining_task

    task = pretraining_task()
    pretrained = build("maelm_tiny", task, **TINY)
    finetune = build("maelm_tiny", finetuning_task(task), **{**TINY, "encoder_layers": 3})
    with pytest.raises(UserInputError, match="another architecture or size .*missing encoder.sentence_encoder.layers.2"):
        finetune.load_state_dict(pretrained.state_dict())


def test_user_dir_under_another_name(capsys, word_data_bin, tmp_path):
    import maelm_fairseq
    from fairseq import utils

    copy = tmp_path / "maelm_renamed"
    shutil.copytree(os.path.dirname(maelm_fairseq.__file__), copy,
                    ignore=shutil.ignore_patterns("__pycache__"))
    line = expect(capsys, word_data_bin, tmp_path / "ck", [f"--user-dir {copy}: maelm-train already loads"],
                  "--user-dir", copy)
    # the same copy through fairseq's own loader (fairseq-train / hydra common.user_dir) after the plugin loaded
    with pytest.raises(UserInputError, match=f"--user-dir {copy}: the maelm plugin is already loaded from"):
        utils.import_user_module(argparse.Namespace(user_dir=str(copy)))
    assert line


def test_console_scripts_show_the_message(word_data_bin, tmp_path):
    status, out = run_cli(["maelm-train", tmp_path / "nope", *ONE_UPDATE], check=False, cwd=tmp_path)
    assert status == 2 and out.rstrip().splitlines()[-1].startswith(f"error: {tmp_path / 'nope'}: data directory")
    assert "Traceback" not in out
    status, out = run_cli(["fairseq-train", word_data_bin, "--user-dir", "maelm_fairseq", *ONE_UPDATE,
                           "--mask-prob", 1.5, "--save-dir", tmp_path / "ck"], check=False)
    assert status == 1
    assert out.rstrip().splitlines()[-1] == ("maelm_fairseq.errors.UserInputError: --mask-prob must be in (0, 1), "
                                             "got 1.5; use 0.15 (MAE-LM, RoBERTa) or 0.5 (3ML)")
    assert no_checkpoints(tmp_path / "ck")
