"""Data-parallel training through fairseq's own distributed engine, on CPU with the gloo backend.

torchrun starts the processes (fairseq reads MASTER_ADDR/PORT, WORLD_SIZE, RANK and uses env:// init), or SLURM's
variables do (fairseq's SLURM route, with a stand-in scontrol). Two
processes with batch b must reach the parameters of one process with batch b and --update-freq 2 (fairseq shards
the batches of an epoch round-robin, so rank r gets batch 2k+r of update k: the same pairs the single process
accumulates). Dropout is off, the only source of randomness that differs between the two schedules."""
import socket

import pytest
import torch

from helpers import BIN, REPO, TINY_TRAIN, logged_values, run_cli

K = 4
CONFIGS = {
    "maelm_self": [],
    "threeml_cross": ["--decoder-type", "cross", "--mask-embedding", "learned", "--mask-prob", 0.5],
    "mlm_no_decoder": ["--decoder-layers", 0],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def common(data, save_dir, updates, extra):
    return [data, "--user-dir", "maelm_fairseq", "--task", "maelm", "--criterion", "maelm", "--arch", "maelm_tiny",
            "--max-update", updates, "--save-dir", save_dir, "--disable-validation", "--dropout", 0,
            "--attention-dropout", 0] + TINY_TRAIN + ["--log-interval", 1] + list(extra)


def torchrun(data, save_dir, updates, extra):
    return run_cli(["torchrun", "--nproc_per_node", 2, "--master_addr", "127.0.0.1", "--master_port", free_port(),
                    f"{BIN}/fairseq-train"] + common(data, save_dir, updates, extra)
                   + ["--distributed-backend", "gloo", "--ddp-backend", "pytorch_ddp"])[1]


def params(path):
    return torch.load(path, map_location="cpu", weights_only=False)["model"]


@pytest.mark.parametrize("config", ["maelm_self", "threeml_cross"])
def test_two_processes_equal_one_process_with_update_freq_2(word_data_bin, tmp_path, config):
    out = torchrun(word_data_bin, tmp_path / "ddp", K, CONFIGS[config])
    assert "distributed init (rank 1)" in out and logged_values(out, "num_updates")[-1] == K
    run_cli(["fairseq-train"] + common(word_data_bin, tmp_path / "one", K, CONFIGS[config]) + ["--update-freq", 2])
    ddp, one = params(tmp_path / "ddp" / "checkpoint_last.pt"), params(tmp_path / "one" / "checkpoint_last.pt")
    assert ddp.keys() == one.keys()
    worst = max((ddp[k].float() - one[k].float()).abs().max().item() for k in ddp)
    assert worst < 1e-5, worst
    assert ddp["encoder.lm_head.bias"].abs().max() > 1e-4  # trained (the bias starts at zero)


def slurm_launch(data, save_dir, updates, extra, tmp_path):
    """Two fairseq-train processes started as `srun --ntasks-per-node 2` would start them: SLURM_* variables and a
    stand-in `scontrol show hostnames` (this machine has no SLURM). fairseq's _infer_slurm_init then sets the
    tcp:// rendezvous on the first host at --distributed-port, the rank from SLURM_PROCID, and no spawning."""
    import os
    import subprocess

    fake_bin = tmp_path / "fake_slurm_bin"
    fake_bin.mkdir()
    (fake_bin / "scontrol").write_text("#!/bin/sh\necho 127.0.0.1\n")
    (fake_bin / "scontrol").chmod(0o755)
    port = free_port()
    cmd = [f"{BIN}/fairseq-train"] + [str(a) for a in common(data, save_dir, updates, extra)] + [
        "--distributed-world-size", "2", "--distributed-port", str(port), "--distributed-backend", "gloo",
        "--ddp-backend", "pytorch_ddp"]
    procs = []
    for rank in range(2):
        env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}", "SLURM_JOB_NODELIST": "node1",
               "SLURM_NNODES": "1", "SLURM_NTASKS_PER_NODE": "2", "SLURM_NODEID": "0", "SLURM_PROCID": str(rank),
               "SLURM_LOCALID": str(rank)}
        log = open(tmp_path / f"rank{rank}.log", "w")
        procs.append((subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT), log))
    codes = []
    for proc, log in procs:
        codes.append(proc.wait(timeout=300))
        log.close()
    out = (tmp_path / "rank0.log").read_text()
    assert codes == [0, 0], out[-4000:] + (tmp_path / "rank1.log").read_text()[-4000:]
    return out


def test_no_decoder_trains_on_two_processes_via_slurm_and_resumes_in_one(word_data_bin, tmp_path):
    out = slurm_launch(word_data_bin, tmp_path / "ck", K, CONFIGS["mlm_no_decoder"], tmp_path)
    assert "tcp://127.0.0.1:" in out and "distributed init (rank 0)" in out
    assert logged_values(out, "num_updates")[-1] == K
    out = run_cli(["fairseq-train"] + common(word_data_bin, tmp_path / "ck", K + 2, CONFIGS["mlm_no_decoder"]))[1]
    assert f"@ {K} updates" in out and "Loaded checkpoint" in out
    assert logged_values(out, "num_updates") == [K + 1, K + 2]
    assert all(loss == loss for loss in logged_values(out, "loss"))


def test_fully_sharded_without_fairscale_says_how_to_get_it(word_data_bin, tmp_path):
    """FSDP (--ddp-backend fully_sharded) is fairscale's; it is not installed here, and fairseq says so."""
    import importlib.util
    import sys

    from maelm_fairseq.cli import run_train

    if importlib.util.find_spec("fairscale") is not None:
        pytest.skip("fairscale installed: FSDP is exercised on GPU machines only (docs/reliability.md)")
    argv = sys.argv
    try:
        with pytest.raises(ImportError, match="Please install fairscale with: pip install fairscale"):
            run_train([str(a) for a in common(word_data_bin, tmp_path, 1, []) + ["--ddp-backend", "fully_sharded"]])
    finally:
        sys.argv = argv
