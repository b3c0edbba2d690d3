"""The body of examples/squad/run.sh (its header says how to call it): the SQUAD recipe of examples/recipes.py with
the environment's overrides, the update counts from the number of training features, then fairseq-train."""
import os
import shlex
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.append(str(REPO))
from examples.recipes import ON_CPU, SQUAD, SQUAD_WARMUP  # noqa: E402

USAGE = "usage: examples/squad/run.sh FEATURES_DIR CHECKPOINT SAVE_DIR [extra fairseq-train flags]"


def error(message):
    print(message, file=sys.stderr)
    return 2


def main(argv, env):
    if len(argv) < 3:
        return error(USAGE)
    data, checkpoint, save_dir, *extra = argv
    if not (Path(data, "train.pt").is_file() and Path(data, "dict.txt").is_file()):
        return error(f"error: {data} has no train.pt/dict.txt: pass the --output directory of "
                     "preprocess/squad/prepare_squad.py")
    if not Path(checkpoint).is_file():
        return error(f"error: CHECKPOINT {checkpoint}: no such file (pass the pretraining checkpoint_best.pt)")
    import torch

    features = torch.load(Path(data, "train.pt"), weights_only=True)
    batch, epochs = int(env.get("BATCH") or SQUAD["--batch-size"]), int(env.get("EPOCHS") or SQUAD["--max-epoch"])
    # polynomial decay needs the total number of updates: features per epoch / batch size, times the epochs
    total = -(-len(features["features"]) // batch) * epochs
    warmup = round(float(env.get("WARMUP") or SQUAD_WARMUP) * total)
    run = {"--user-dir": REPO / "maelm_fairseq", "--arch": env.get("ARCH") or SQUAD["--arch"],
           "--restore-file": checkpoint, "--lr": env.get("LR") or SQUAD["--lr"], "--total-num-update": total,
           "--warmup-updates": warmup, "--batch-size": batch, "--max-epoch": epochs,
           "--seed": env.get("SEED") or SQUAD["--seed"], "--save-dir": save_dir}
    if env.get("CPU") == "1":
        run.update(ON_CPU)
    command = [env.get("PYTHON") or "python", "-m", "fairseq_cli.train", data, *(SQUAD | run).argv(), *extra]

    print(f"SQuAD {features['squad_version']}: {len(features['features'])} training features, {total} updates "
          f"({warmup} warmup)", flush=True)
    if env.get("DRY_RUN") == "1":
        print(shlex.join(command))
        return 0
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    last = None
    with open(Path(save_dir, "train.log"), "w") as log, subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        for line in proc.stdout:  # the log on screen and in SAVE_DIR/train.log
            sys.stdout.write(line)
            log.write(line)
            if "valid on 'valid' subset" in line:
                last = line
    if proc.returncode:
        return proc.returncode
    if last is None:
        return 1
    print(last, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ))
