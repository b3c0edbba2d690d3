"""--max-positions: 512 position rows whatever --tokens-per-sample is; fine-tuning takes any --max-positions up to
the checkpoint's (the first rows), a larger one or a pretraining run resumed with another one is refused in one
line naming the checkpoint's --max-positions."""
import os
import shutil

import pytest
import torch

from helpers import CPU_ENV, TINY_TRAIN, run_cli
from maelm_fairseq.errors import UserInputError
from model_factory import TINY, build, finetuning_task, pretraining_task

POSITIONS_KEY = "encoder.sentence_encoder.embed_positions.weight"


@pytest.fixture(scope="module")
def task():
    return pretraining_task()  # --tokens-per-sample 64


@pytest.mark.parametrize("arch", ["maelm_tiny", "maelm_base", "maelm_large", "threeml_self_base"])
def test_table_is_512_rows_whatever_tokens_per_sample(task, arch):
    model = build(arch, task, **TINY)
    assert model.args.max_positions == 512 and model.max_positions() == 512
    assert model.state_dict()[POSITIONS_KEY].size(0) == 512 + 2  # fairseq's rows: padding_idx + 1 + position
    assert build(arch, task, **TINY, max_positions=64).state_dict()[POSITIONS_KEY].size(0) == 64 + 2


def test_finetuning_with_a_smaller_max_positions_keeps_the_first_rows(task):
    pretrained = build("maelm_tiny", task, **TINY).eval()
    finetuned = build("maelm_tiny", finetuning_task(task), **TINY, max_positions=64).eval()
    finetuned.load_state_dict(pretrained.state_dict(), strict=True)
    assert torch.equal(finetuned.state_dict()[POSITIONS_KEY], pretrained.state_dict()[POSITIONS_KEY][:66])
    tokens = torch.randint(4, 190, (2, 64))
    tokens[:, 0] = 0
    with torch.no_grad():
        ours, _ = finetuned(tokens, features_only=True)
        theirs, _ = pretrained(tokens, features_only=True)
    assert torch.allclose(ours, theirs, atol=1e-6)


@pytest.mark.parametrize("pretrained_n, n, finetuning, line", [
    (512, 1024, True, "--max-positions 1024: the checkpoint being loaded (--restore-file, default "
                      "<save-dir>/checkpoint_last.pt) has a position table for --max-positions 512; fine-tune "
                      "with --max-positions 512 or less"),
    (64, 128, False, "--max-positions 128: the checkpoint being loaded (--restore-file, default "
                     "<save-dir>/checkpoint_last.pt) has a position table for --max-positions 64; give "
                     "--max-positions 64"),
    (128, 64, False, "--max-positions 64: the checkpoint being loaded (--restore-file, default "
                     "<save-dir>/checkpoint_last.pt) has a position table for --max-positions 128; give "
                     "--max-positions 128"),
])
def test_mismatch_names_the_checkpoints_max_positions(task, pretrained_n, n, finetuning, line):
    state = build("maelm_tiny", task, **TINY, max_positions=pretrained_n).state_dict()
    target = finetuning_task(task) if finetuning else task
    model = build("maelm_tiny", target, **TINY, max_positions=n)
    with pytest.raises(UserInputError) as e:
        model.load_state_dict(state, strict=True)
    assert str(e.value) == line


# fairseq users' habit, from the command line: pretrain on short samples, fine-tune with --max-positions equal to
# them. The pair task's sentences are short enough for 64 positions.
FINETUNE = ["--task", "sentence_prediction", "--criterion", "sentence_prediction", "--arch", "maelm_tiny",
            "--num-classes", 2, "--init-token", 0, "--separator-token", 2, "--batch-size", 8, "--max-update", 2,
            "--optimizer", "adam", "--lr", 1e-4, "--cpu", "--num-workers", 0, "--log-format", "simple",
            "--reset-optimizer", "--reset-dataloader", "--reset-meters", "--no-save", "--disable-validation"]


@pytest.fixture(scope="module")
def short_checkpoint(sp_data_bin, tmp_path_factory):
    save = tmp_path_factory.mktemp("pretrain64")
    args = [a if a != 128 else 64 for a in TINY_TRAIN]  # --tokens-per-sample 64
    run_cli(["fairseq-train", sp_data_bin, "--user-dir", "maelm_fairseq", "--task", "maelm", "--criterion", "maelm",
             "--arch", "maelm_tiny", *args, "--max-update", 2, "--save-dir", save, "--no-save-optimizer-state"],
            env=CPU_ENV)
    return os.path.join(save, "checkpoint_last.pt")


def finetune(pair_data_bin, checkpoint, save_dir, max_positions, check=True):
    return run_cli(["fairseq-train", pair_data_bin, "--user-dir", "maelm_fairseq", *FINETUNE, "--restore-file",
                    checkpoint, "--save-dir", save_dir, "--max-positions", max_positions], env=CPU_ENV, check=check)


def test_cli_finetunes_a_short_pretraining_with_its_tokens_per_sample(pair_data_bin, short_checkpoint,
                                                                      tmp_path):
    _, out = finetune(pair_data_bin, short_checkpoint, tmp_path, 64)
    assert "Loaded checkpoint" in out and "done training" in out


def test_cli_mismatch_is_the_last_line(pair_data_bin, short_checkpoint, tmp_path):
    copy = shutil.copy(short_checkpoint, tmp_path / "pretrained.pt")
    status, out = finetune(pair_data_bin, copy, tmp_path / "ck", 1024, check=False)
    assert status != 0
    assert out.strip().splitlines()[-1] == (
        f"maelm_fairseq.errors.CheckpointMismatch: --max-positions 1024: checkpoint {copy} has a position table for "
        f"--max-positions 512; fine-tune with --max-positions 512 or less")
