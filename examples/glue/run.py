#!/usr/bin/env python
"""Fine-tune one GLUE task from a pretraining checkpoint with several seeds and print the median dev score.

    python examples/glue/run.py RTE --data glue-bin/RTE-bin --checkpoint checkpoints/checkpoint_best.pt \
        --arch maelm_base --save-dir ft/RTE [--seeds 1 2 3 4 5] [-- extra fairseq-train flags]

The recipe is GLUE_TASKS in examples/recipes.py: fairseq's RoBERTa GLUE recipe (examples/roberta/README.glue.md) per
task: lr, batch size, total updates (10 epochs) and warmup (6 %; QQP 25 % as published), Adam (0.9, 0.98) eps 1e-6,
weight decay 0.1, polynomial decay, dropout 0.1, no clipping. MAE-LM's own values are not published; its paper reports
the median of five seeds, hence the default seeds. See examples/glue/README.md.
"""
import argparse
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.append(str(REPO))
from examples.recipes import GLUE_TASKS, ON_CPU  # noqa: E402

PLUGIN_DIR = REPO / "maelm_fairseq"


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task", choices=list(GLUE_TASKS))
    parser.add_argument("--data", required=True, metavar="DIR",
                        help="the task's data-bin (input0/, input1/, label/), e.g. from preprocess/glue/prepare_glue.py")
    parser.add_argument("--checkpoint", required=True, metavar="PT", help="pretraining checkpoint to start from")
    parser.add_argument("--arch", default="maelm_base", help="architecture of the checkpoint (default maelm_base)")
    parser.add_argument("--save-dir", required=True, metavar="DIR", help="one sub-folder per seed is written here")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5], metavar="S",
                        help="one fine-tuning run per seed (default 1 2 3 4 5; the papers report the median of five)")
    parser.add_argument("--max-update", type=int, metavar="N",
                        help="cut the recipe to N updates (warmup scaled alike), for a quick look or a smoke test")
    parser.add_argument("--cpu", action="store_true", help="train on CPU in fp32 (default: GPU with the recipe's fp16)")
    parser.add_argument("--dry-run", action="store_true", help="print the fairseq-train commands and stop")
    parser.epilog = "Flags after `--` go to fairseq-train last, so they override the recipe."
    return parser


def split_extra(argv):
    """(own arguments, fairseq-train arguments after `--`)."""
    if "--" in argv:
        return argv[:argv.index("--")], argv[argv.index("--") + 1:]
    return argv, []


def train_command(args, recipe, seed):
    run = {"--user-dir": PLUGIN_DIR, "--arch": args.arch, "--restore-file": args.checkpoint, "--seed": seed,
           "--save-dir": Path(args.save_dir) / f"seed{seed}"}
    if args.max_update is not None:  # the recipe cut short, its warm-up alike
        total = recipe["--total-num-update"]
        run.update({"--total-num-update": args.max_update, "--max-update": args.max_update,
                    "--warmup-updates": round(recipe["--warmup-updates"] * args.max_update / total)})
    if args.cpu:
        run.update(ON_CPU)
    return [sys.executable, "-m", "fairseq_cli.train", str(args.data), *(recipe | run).argv(), *args.extra]


def best_validation(log, metric):
    """Metrics of the validation with the highest `metric`, as {name: value}."""
    from maelm_fairseq.evaluation.training_log import valid_rows  # the plugin loads fairseq: not for --dry-run

    rows = [row for row in valid_rows(log) if metric in row]
    return max(rows, key=lambda row: row[metric]) if rows else None


def check_inputs(parser, args, recipe):
    data = Path(args.data)
    if not (data / "input0" / "dict.txt").is_file():
        parser.error(f"--data {data}: no input0/dict.txt; pass a GLUE task data-bin (preprocess/glue/prepare_glue.py)")
    if recipe["--num-classes"] == 1 and not (data / "label" / "valid.label").is_file():
        parser.error(f"--data {data}: {args.task} is a regression task but label/valid.label is missing")
    if recipe["--num-classes"] > 1 and not (data / "label" / "dict.txt").is_file():
        parser.error(f"--data {data}: no label/dict.txt; {args.task} needs binarized class labels")
    if not Path(args.checkpoint).is_file():
        parser.error(f"--checkpoint {args.checkpoint}: no such file")


def main(argv=None):
    parser = build_parser()
    own, extra = split_extra(sys.argv[1:] if argv is None else list(argv))
    args = parser.parse_args(own)
    args.extra = extra
    recipe = GLUE_TASKS[args.task]
    metric = recipe["--best-checkpoint-metric"]
    if args.max_update is not None and args.max_update < 1:
        parser.error("--max-update must be at least 1")
    check_inputs(parser, args, recipe)
    commands = {seed: train_command(args, recipe, seed) for seed in args.seeds}
    if args.dry_run:
        for command in commands.values():
            print(" ".join(f"'{a}'" if " " in a else a for a in command))
        return 0

    results = {}
    for seed, command in commands.items():
        Path(args.save_dir, f"seed{seed}").mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(command, capture_output=True, text=True)
        log = proc.stdout + proc.stderr
        Path(args.save_dir, f"seed{seed}", "train.log").write_text(log)
        if proc.returncode != 0:
            print(log[-4000:], file=sys.stderr)
            print(f"error: seed {seed} failed (exit {proc.returncode}); full log in "
                  f"{Path(args.save_dir, f'seed{seed}', 'train.log')}", file=sys.stderr)
            return 1
        results[seed] = best_validation(log, metric)
        if results[seed] is None:
            print(f"error: seed {seed} logged no validation '{metric}'", file=sys.stderr)
            return 1
        shown = " ".join(f"{k} {v:g}" for k, v in results[seed].items() if k not in ("wps", "wpb", "bsz"))
        print(f"{args.task} seed {seed}: {shown}", flush=True)

    names = [k for k in results[args.seeds[0]] if k not in ("wps", "wpb", "bsz", "num_updates")]
    medians = {name: statistics.median(r[name] for r in results.values() if name in r) for name in names}
    print(f"{args.task} median over {len(results)} seeds: {metric} {medians[metric]:g} ("
          + ", ".join(f"{k} {v:g}" for k, v in medians.items() if k != metric) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
