"""Exact resume after SIGKILL, and checkpoint files that a crash during a write never corrupts."""
import os
import re
import signal
import subprocess
import time

import pytest
import torch

from helpers import BIN, REPO, TINY_TRAIN, run_cli


def losses_by_update(output):
    """{num_updates: loss string} of the train_inner lines (--log-interval 1)."""
    return {int(u): l for l, u in re.findall(r"train_inner .*?\bloss=([-\d.]+).*?\bnum_updates=(\d+)", output)}


def params(path):
    return torch.load(path, map_location="cpu", weights_only=False)["model"]


def test_sigkill_then_resume_gives_the_uninterrupted_run(word_data_bin, tmp_path):
    """SIGKILL a run after its update-8 checkpoint, resume from checkpoint_last.pt: the remaining per-update losses
    and the final parameters equal those of a run never interrupted (bitwise, CPU fp32), mid-epoch."""
    args = [word_data_bin, "--user-dir", "maelm_fairseq", "--task", "maelm", "--criterion", "maelm", "--arch",
            "maelm_tiny", "--max-update", 14, "--save-interval-updates", 4, "--disable-validation"] + TINY_TRAIN
    args += ["--log-interval", 1]
    cmd = [os.path.join(BIN, "fairseq-train"), *map(str, args), "--save-dir"]
    straight_log, log, save_dir = tmp_path / "straight.log", tmp_path / "killed.log", tmp_path / "killed"
    with open(straight_log, "w") as out1, open(log, "w") as out2:  # the two runs side by side
        straight = subprocess.Popen(cmd + [str(tmp_path / "straight")], cwd=REPO, stdout=out1, stderr=out1)
        proc = subprocess.Popen(cmd + [str(save_dir)], cwd=REPO, stdout=out2, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 300
        while not re.search(r"Saved checkpoint \S+ \(epoch 1 @ 8 updates", log.read_text()):
            assert proc.poll() is None and time.time() < deadline, log.read_text()[-3000:]
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # no clean shutdown: whatever was being written stays as it was
        proc.wait()
        assert straight.wait(timeout=300) == 0, straight_log.read_text()[-3000:]
    finally:
        for p in (proc, straight):
            if p.poll() is None:
                p.kill()
    uninterrupted = losses_by_update(straight_log.read_text())
    assert sorted(uninterrupted) == list(range(1, 15))
    killed_at = torch.load(save_dir / "checkpoint_last.pt", map_location="cpu",
                           weights_only=False)["optimizer_history"][-1]["num_updates"]
    assert killed_at in (8, 12)  # the last checkpoint written before the kill

    out = run_cli(["fairseq-train", *args, "--save-dir", save_dir])[1]
    assert f"@ {killed_at} updates" in out and "Loaded checkpoint" in out
    resumed = losses_by_update(out)
    assert sorted(resumed) == list(range(killed_at + 1, 15))
    assert resumed == {u: uninterrupted[u] for u in resumed}
    a, b = params(tmp_path / "straight" / "checkpoint_last.pt"), params(save_dir / "checkpoint_last.pt")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)  # bit-identical on CPU fp32


def test_checkpoint_writes_are_atomic(tmp_path, monkeypatch):
    """A crash in the middle of writing any checkpoint name leaves the previous file complete and loadable."""
    import shutil

    import maelm_fairseq.tasks  # noqa: F401  (installs the atomic copy)
    from fairseq import checkpoint_utils
    from fairseq.file_io import PathManager

    last = str(tmp_path / "checkpoint_last.pt")
    checkpoint_utils.torch_persistent_save({"step": 1, "w": torch.ones(1000)}, last)

    # 1. fairseq's direct save (first name of a save): torch.save into <name>.tmp, then rename
    def dying_save(obj, f, *a, **k):
        f.write(b"partial bytes")
        raise KeyboardInterrupt("killed while writing")

    with monkeypatch.context() as m:
        m.setattr(torch, "save", dying_save)
        with pytest.raises(KeyboardInterrupt):
            checkpoint_utils.torch_persistent_save({"step": 2}, last)
    assert torch.load(last, weights_only=False)["step"] == 1

    # 2. the copies onto checkpoint_last.pt / checkpoint_best.pt (fairseq: shutil.copyfile onto the target)
    new = str(tmp_path / "checkpoint_1_10.pt")
    checkpoint_utils.torch_persistent_save({"step": 3, "w": torch.ones(1000)}, new)

    def dying_copy(src, dst, length=0):
        dst.write(src.read(100))
        raise KeyboardInterrupt("killed while copying")

    with monkeypatch.context() as m:
        m.setattr(shutil, "copyfileobj", dying_copy)
        with pytest.raises(KeyboardInterrupt):
            PathManager.copy(new, last, overwrite=True)
    assert torch.load(last, weights_only=False)["step"] == 1 and not os.path.exists(last + ".tmp")
    assert PathManager.copy(new, last, overwrite=True)
    assert torch.load(last, weights_only=False)["step"] == 3
