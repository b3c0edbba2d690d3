"""The paper rows' scripts (examples/pretrain/NAME.sh) and hydra configs (examples/pretrain/config/) as views of
their recipes in examples/recipes.py (PAPER_ROWS): edit a recipe there, then

    python examples/pretrain/generate.py            # (re)write the scripts and YAML configs
    python examples/pretrain/generate.py --check    # exit 1 if a committed file differs (tests/test_recipes.py)

Every value comes from the recipes; this file only lays them out.
"""
import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
from examples.recipes import PAPER_ROWS, SEQS_PER_UPDATE  # noqa: E402

REGENERATE = "python examples/pretrain/generate.py"


def per_gpu_sequences(r):
    f = r.all_flags.get
    return f("--max-tokens") // f("--tokens-per-sample") if f("--max-tokens") else f("--batch-size")


def script(r):
    f = r.all_flags.get
    tokens = f("--tokens-per-sample")
    per_gpu = (f"TOKENS_PER_GPU=${{TOKENS_PER_GPU:-{f('--max-tokens')}}}  # {per_gpu_sequences(r)} "
               f"sequences of {tokens}" if f("--max-tokens") else
               f"SEQS_PER_GPU=${{SEQS_PER_GPU:-{f('--batch-size')}}}")
    seqs_per_gpu = f"$(( TOKENS_PER_GPU / {tokens} ))" if f("--max-tokens") else "$SEQS_PER_GPU"
    batching = ("--max-tokens \"$TOKENS_PER_GPU\"" if f("--max-tokens") else "--batch-size \"$SEQS_PER_GPU\"")
    fp16 = f"--fp16 --fp16-init-scale {f('--fp16-init-scale')}" + (
        f" --fp16-scale-window {f('--fp16-scale-window')}" if f("--fp16-scale-window") else "")
    switches = " ".join(flag for flag in ("--no-epoch-checkpoints", "--skip-invalid-size-inputs-valid-test")
                        if f(flag))
    command = " \\\n    ".join([
        f'run_pretrain "$DATA_BIN" "$SAVE_DIR" --arch {f("--arch")}',
        f"--task {f('--task')} --criterion {f('--criterion')} --tokens-per-sample {tokens} "
        f"--sample-break-mode {f('--sample-break-mode')}",
        f"--mask-prob {f('--mask-prob')} --leave-unmasked-prob {f('--leave-unmasked-prob')} "
        f"--random-token-prob {f('--random-token-prob')}",
        f"--optimizer {f('--optimizer')} --adam-betas '{f('--adam-betas')}' --adam-eps {f('--adam-eps')} "
        f"--weight-decay {f('--weight-decay')} --clip-norm {f('--clip-norm')}",
        f"--lr-scheduler {f('--lr-scheduler')} --lr {f('--lr')} --warmup-updates {f('--warmup-updates')}",
        f"--total-num-update {f('--total-num-update')} --max-update {f('--max-update')}",
        f'{batching} --update-freq "$UPDATE_FREQ" '
        f"--required-batch-size-multiple {f('--required-batch-size-multiple')}",
        f"--dropout {f('--dropout')} --attention-dropout {f('--attention-dropout')} "
        f"--ddp-backend {f('--ddp-backend')} --num-workers {f('--num-workers')} --seed {f('--seed')}",
        f"--log-format {f('--log-format')} --log-interval {f('--log-interval')} "
        f"--save-interval-updates {f('--save-interval-updates')} "
        f"--keep-interval-updates {f('--keep-interval-updates')}",
        f'{switches} "${{FP16[@]}}" -- "$@"'])
    notes = "".join(f"# - {n}\n" for n in r.notes)
    return f"""#!/usr/bin/env bash
# {r.title}
# Generated from its recipe in examples/recipes.py (edit it there; see docs/analysis.md). Regenerate:
#   {REGENERATE}
{notes}#
#   bash examples/pretrain/{r.name}.sh DATA_BIN SAVE_DIR [fairseq-train overrides ...]
# {SEQS_PER_UPDATE} sequences x {tokens} tokens per update on any number of GPUs (NUM_GPUS, default: all visible):
# update-freq = {SEQS_PER_UPDATE} / (NUM_GPUS x sequences per GPU). DRY_RUN=1 adds tiny-shape CPU overrides and
# stops after one update (tests); ECHO=1 prints the command instead of running it.
set -euo pipefail
[ $# -ge 2 ] || {{ echo "usage: $0 DATA_BIN SAVE_DIR [fairseq-train overrides ...]" >&2; exit 2; }}
DATA_BIN=$1 SAVE_DIR=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/common.sh"
{per_gpu}
UPDATE_FREQ=${{UPDATE_FREQ:-$(update_freq {SEQS_PER_UPDATE} {seqs_per_gpu})}}
FP16=({fp16})
{command}
"""


def yaml_float(value):
    """YAML 1.1 (hydra's loader) reads a float only with a dot: 1e-06 -> 1.0e-06."""
    text = repr(float(value))
    return text.replace("e", ".0e") if "e" in text and "." not in text else text


# The keys a row file states; its family's file never sets them (see row_yaml).
ROW_FLAGS = ("--arch", "--mask-prob", "--lr", "--max-update", "--total-num-update")


def family_yaml(family):
    """config/family/NAME.yaml: every value the rows of one family share (composed after the row, see row_yaml)."""
    f = family.all_flags.get
    seqs_per_gpu = per_gpu_sequences(family)
    batching = (f"  max_tokens: {f('--max-tokens')}\n" if f("--max-tokens") else
                f"  batch_size: {f('--batch-size')}\n")
    scale_window = f"  fp16_scale_window: {f('--fp16-scale-window')}\n" if f("--fp16-scale-window") else ""
    yes = {True: "true"}
    return f"""# @package _global_
# The {family.name} family's shared training values, included by the rows of examples/pretrain/config/.
# Generated from examples/recipes.py (edit the recipes there). Regenerate: {REGENERATE}
# Never sets a row's own keys (arch, lr, updates, mask_prob): fairseq's schema fills the row file first, so a key set
# both here and in a row would be ours.
# update_freq assumes 8 GPUs: 8 x {seqs_per_gpu} sequences x {SEQS_PER_UPDATE // (8 * seqs_per_gpu)} = \
{SEQS_PER_UPDATE} per update; with N GPUs set optimization.update_freq=[{SEQS_PER_UPDATE // seqs_per_gpu}/N].
common:
  fp16: {yes[f('--fp16')]}
  fp16_init_scale: {f('--fp16-init-scale')}
{scale_window}  log_format: {f('--log-format')}
  log_interval: {f('--log-interval')}
  seed: {f('--seed')}
checkpoint:
  save_interval_updates: {f('--save-interval-updates')}
  keep_interval_updates: {f('--keep-interval-updates')}
  no_epoch_checkpoints: {yes[f('--no-epoch-checkpoints')]}
task:
  _name: {f('--task')}
  data: ???
  tokens_per_sample: {f('--tokens-per-sample')}
  sample_break_mode: {f('--sample-break-mode')}
  leave_unmasked_prob: {f('--leave-unmasked-prob')}
  random_token_prob: {f('--random-token-prob')}
criterion: {f('--criterion')}
dataset:
{batching}  required_batch_size_multiple: {f('--required-batch-size-multiple')}
  num_workers: {f('--num-workers')}
  skip_invalid_size_inputs_valid_test: {yes[f('--skip-invalid-size-inputs-valid-test')]}
distributed_training:
  ddp_backend: {f('--ddp-backend')}
optimization:
  clip_norm: {f('--clip-norm')}
  update_freq: [{SEQS_PER_UPDATE // (8 * seqs_per_gpu)}]
optimizer:
  _name: {f('--optimizer')}
  adam_betas: {f('--adam-betas')}
  adam_eps: {yaml_float(f('--adam-eps'))}
  weight_decay: {f('--weight-decay')}
lr_scheduler:
  _name: {f('--lr-scheduler')}
  warmup_updates: {f('--warmup-updates')}
model:
  dropout: {f('--dropout')}
  attention_dropout: {f('--attention-dropout')}
"""


def row_yaml(r):
    """config/ROW.yaml: the row's own values; its family's file fills in the rest. `_self_` comes first in the
    defaults list because fairseq-hydra-train validates a config against a schema of the same name, and hydra merges
    that schema (with all its defaults) at the `_self_` position: listed last it would undo the family's values."""
    notes = "".join(f"# - {n}\n" for n in r.notes)
    return f"""# {r.title}
# Generated from its recipe in examples/recipes.py (edit it there). Regenerate: {REGENERATE}
# Same run as {r.name}.sh.
{notes}#
#   maelm-hydra-train --config-dir examples/pretrain/config --config-name {r.name} task.data=DATA_BIN \\
#       checkpoint.save_dir=SAVE_DIR
# (maelm-hydra-train adds common.user_dir; with plain fairseq-hydra-train add common.user_dir=/path/to/maelm_fairseq)
defaults:
  - _self_
  - family/{r.base.name}
model:
  _name: {r['--arch']}
task:
  mask_prob: {r['--mask-prob']}
optimization:
  lr: [{float(r['--lr'])}]
  max_update: {r['--max-update']}
lr_scheduler:
  total_num_update: {r['--total-num-update']}
"""


def outputs():
    files = {}
    for row in PAPER_ROWS:
        files[os.path.join(HERE, row.name + ".sh")] = script(row)
        files[os.path.join(HERE, "config", row.name + ".yaml")] = row_yaml(row)
        files[os.path.join(HERE, "config", "family", row.base.name + ".yaml")] = family_yaml(row.base)
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only compare with the files on disk")
    args = parser.parse_args()
    stale = []
    for path, text in outputs().items():
        current = open(path).read() if os.path.isfile(path) else None
        if current == text:
            continue
        if args.check:
            stale.append(path)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as fh:
            fh.write(text)
        if path.endswith(".sh"):
            os.chmod(path, 0o755)
    if stale:
        print(f"out of date (run {REGENERATE}): " + " ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
