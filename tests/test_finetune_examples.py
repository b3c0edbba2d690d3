"""examples/glue/run.py and examples/squad/run.sh: recipe flags, seeds and median, tiny real runs, user errors."""
import os
import re
import subprocess
import sys

from helpers import CPU_ENV, REPO

GLUE = os.path.join(REPO, "examples", "glue", "run.py")
SQUAD = os.path.join(REPO, "examples", "squad", "run.sh")


def run(command, env=None):
    proc = subprocess.run([str(c) for c in command], capture_output=True, text=True, timeout=600, cwd=REPO,
                          env={**os.environ, **CPU_ENV, "PYTHON": sys.executable, **(env or {})})
    return proc.returncode, proc.stdout, proc.stderr


def flag(command_line, name):
    return re.search(rf"{name} (\S+)", command_line).group(1)


def test_glue_dry_run_prints_the_recipe_per_seed(pair_data_bin, pretrained_checkpoint, tmp_path):
    code, out, err = run([sys.executable, GLUE, "RTE", "--data", pair_data_bin, "--checkpoint", pretrained_checkpoint,
                          "--save-dir", tmp_path, "--dry-run"])
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 5  # default seeds 1..5
    assert [flag(line, "--seed") for line in lines] == ["1", "2", "3", "4", "5"]
    first = lines[0]
    assert (flag(first, "--lr"), flag(first, "--batch-size"), flag(first, "--total-num-update"),
            flag(first, "--warmup-updates"), flag(first, "--arch")) == ("2e-05", "16", "2036", "122", "maelm_base")
    assert "--fp16" in first and "--regression-target" not in first and "--max-update" not in first

    code, out, _ = run([sys.executable, GLUE, "STS-B", "--data", pair_data_bin / "regression", "--checkpoint",
                        pretrained_checkpoint, "--save-dir", tmp_path, "--seeds", "7", "--max-update", "360", "--cpu",
                        "--dry-run", "--", "--max-positions", "256"])
    assert code == 0 and len(out.strip().splitlines()) == 1
    assert "--regression-target" in out and "--cpu" in out and "--fp16" not in out
    assert (flag(out, "--num-classes"), flag(out, "--best-checkpoint-metric"), flag(out, "--max-update"),
            flag(out, "--warmup-updates"), flag(out, "--seed")) == ("1", "pearson", "360", "21", "7")
    assert out.strip().endswith("--max-positions 256")  # extra flags come last and override the recipe


def test_glue_seeds_run_and_the_median_is_printed(pair_data_bin, pretrained_checkpoint, tmp_path):
    code, out, err = run([sys.executable, GLUE, "MRPC", "--data", pair_data_bin, "--checkpoint", pretrained_checkpoint,
                          "--arch", "maelm_tiny", "--save-dir", tmp_path, "--seeds", "1", "2", "--max-update", "2",
                          "--cpu", "--", "--num-workers", "0", "--shorten-method", "truncate"])
    assert code == 0, err[-3000:]
    seeds = re.findall(r"MRPC seed (\d): .*accuracy ([\d.]+)", out)
    assert [s for s, _ in seeds] == ["1", "2"]
    median = re.search(r"MRPC median over 2 seeds: accuracy ([\d.]+) \(.*f1 [\d.]+.*mcc", out)
    assert median and float(median.group(1)) == sum(float(a) for _, a in seeds) / 2
    assert (tmp_path / "seed1" / "checkpoint_best.pt").is_file() and (tmp_path / "seed2" / "train.log").is_file()


def test_glue_user_errors_name_the_flag(pair_data_bin, pretrained_checkpoint, tmp_path):
    code, _, err = run([sys.executable, GLUE, "RTE", "--data", tmp_path, "--checkpoint", pretrained_checkpoint,
                        "--save-dir", tmp_path])
    assert code == 2 and f"--data {tmp_path}: no input0/dict.txt" in err
    code, _, err = run([sys.executable, GLUE, "STS-B", "--data", pair_data_bin, "--checkpoint", pretrained_checkpoint,
                        "--save-dir", tmp_path])
    assert code == 2 and "regression task but label/valid.label is missing" in err
    code, _, err = run([sys.executable, GLUE, "RTE", "--data", pair_data_bin, "--checkpoint", tmp_path / "none.pt",
                        "--save-dir", tmp_path])
    assert code == 2 and "--checkpoint" in err and "no such file" in err
    code, _, err = run([sys.executable, GLUE, "RTE", "--data", pair_data_bin, "--checkpoint", pretrained_checkpoint,
                        "--save-dir", tmp_path, "--max-update", "0"])
    assert code == 2 and "--max-update must be at least 1" in err


def test_squad_recipe_dry_run_and_tiny_run(squad_data, pretrained_checkpoint, tmp_path):
    env = {"DRY_RUN": "1", "LR": "1e-4", "BATCH": "8", "EPOCHS": "3", "WARMUP": "0.5", "SEED": "3"}
    code, out, err = run(["bash", SQUAD, squad_data, pretrained_checkpoint, tmp_path, "--max-update", "5"], env=env)
    assert code == 0, err
    features = int(re.search(r"v2.0: (\d+) training features", out).group(1))
    total = -(-features // 8) * 3
    assert f"{total} updates ({round(0.5 * total)} warmup)" in out
    assert (flag(out, "--lr"), flag(out, "--batch-size"), flag(out, "--seed"), flag(out, "--arch")) == \
        ("1e-4", "8", "3", "maelm_base")
    assert "--fp16" in out and out.strip().endswith("--max-update 5")

    code, out, err = run(["bash", SQUAD, squad_data, pretrained_checkpoint, tmp_path, "--max-update", "2",
                          "--num-workers", "0"], env={"CPU": "1", "ARCH": "maelm_tiny"})
    assert code == 0, (out + err)[-3000:]
    last = out.strip().splitlines()[-1]
    assert "valid on 'valid' subset" in last and re.search(r"\| exact [\d.]+ \| f1 [\d.]+", last)


def test_squad_recipe_user_errors(squad_data, pretrained_checkpoint, tmp_path):
    code, _, err = run(["bash", SQUAD, tmp_path, pretrained_checkpoint, tmp_path])
    assert code == 2 and "pass the --output directory of preprocess/squad/prepare_squad.py" in err
    code, _, err = run(["bash", SQUAD, squad_data, tmp_path / "none.pt", tmp_path])
    assert code == 2 and "no such file" in err
    code, _, err = run(["bash", SQUAD, squad_data])
    assert code == 2 and "usage:" in err
