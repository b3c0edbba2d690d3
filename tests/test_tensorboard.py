"""Training curves where users look for them: `--tensorboard-logdir` writes event files with our criterion's scalars
(read back here), and a requested logger that is not installed stops the run with one line instead of a warning."""
import struct
from pathlib import Path

import pytest

from helpers import TINY_TRAIN, logged_values, run_cli, train_in_process

TINY_PRETRAIN = ["--task", "maelm", "--criterion", "maelm", "--arch", "maelm_tiny", "--max-update", 10] + TINY_TRAIN


def read_scalars(logdir):
    """{(run, tag): [(step, value), ...]} from the event files under `logdir`: TFRecord framing (length, its crc,
    the Event proto, its crc), one sub-directory per fairseq log tag (train_inner, valid, train)."""
    from tensorboardX.proto.event_pb2 import Event

    scalars = {}
    for path in sorted(Path(logdir).rglob("events.out.tfevents.*")):
        data, pos = path.read_bytes(), 0
        while pos < len(data):
            (length,) = struct.unpack_from("<Q", data, pos)
            event = Event.FromString(data[pos + 12:pos + 12 + length])
            pos += 12 + length + 4
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    scalars.setdefault((path.parent.name, value.tag), []).append((event.step, value.simple_value))
    return scalars


def test_tensorboard_logdir_holds_the_logged_scalars(word_data_bin, tmp_path):
    _, out = run_cli(["fairseq-train", word_data_bin, "--user-dir", "maelm_fairseq", *TINY_PRETRAIN,
                      "--save-dir", tmp_path / "ck", "--tensorboard-logdir", tmp_path / "tb"])
    scalars = read_scalars(tmp_path / "tb")
    for tag in ("loss", "accuracy", "enc_tok_frac", "lr"):
        assert [step for step, _ in scalars[("train_inner", tag)]] == [5, 10], tag
    for tag, value in (("loss", "loss"), ("accuracy", "accuracy"), ("enc_tok_frac", "enc_tok_frac")):
        logged = logged_values(out, value)
        assert logged and [v for _, v in scalars[("train_inner", tag)]] == pytest.approx(logged, abs=1e-3), tag
    assert scalars[("train_inner", "lr")][0][1] == pytest.approx(5e-4)  # inverse_sqrt warm-up: 1e-3 * 5 / 10
    valid_loss = logged_values(out, "loss", kind="valid")
    assert [v for _, v in scalars[("valid", "loss")]] == pytest.approx(valid_loss, abs=1e-3)
    assert ("valid", "accuracy") in scalars


def maelm_train(capsys, data, save_dir, *extra):
    return train_in_process(capsys, [data, *TINY_PRETRAIN, "--save-dir", save_dir, *extra])


@pytest.mark.parametrize("flag,value,module_attr,line", [
    ("--wandb-project", "demo", "wandb", "error: --wandb-project demo: wandb is not installed; pip install wandb"),
    ("--tensorboard-logdir", "tb", "SummaryWriter",
     "error: --tensorboard-logdir tb: no TensorBoard writer is installed; pip install tensorboardX"),
])
def test_requested_logger_not_installed_is_one_line(capsys, monkeypatch, word_data_bin, tmp_path, flag, value,
                                                    module_attr, line):
    from fairseq.logging import progress_bar

    monkeypatch.setattr(progress_bar, module_attr, None)  # what fairseq holds when the import failed
    status, errors = maelm_train(capsys, word_data_bin, tmp_path / "ck", flag, value)
    assert status == 2 and len(errors) == 1 and errors[0].startswith(line), errors
    assert not list((tmp_path / "ck").glob("*.pt"))  # refused before the first update
