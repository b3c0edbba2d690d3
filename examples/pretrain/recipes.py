"""The paper-table pretraining recipes, one row each: the single source of examples/pretrain/*.sh and config/*.yaml.

    python examples/pretrain/recipes.py            # (re)write the scripts and YAML configs
    python examples/pretrain/recipes.py --check    # exit 1 if a committed file differs from what this table gives

Where a value comes from: MAE-LM rows follow the authors' run_pretrain.sh (github.com/yumeng5/MAE-LM; paper: Meng
et al., ICLR 2024, arXiv 2302.02060): Adam (0.9, 0.98), eps 1e-6, weight decay 0.01, clip 2.0, polynomial decay,
warm-up 10k, peak lr 2e-4, 512 tokens, 16,384 tokens per GPU on 64 GPUs, fp16 init scale 4 / window 256,
complete_doc, 100 % [MASK], seed 100. 3ML rows (Liao et al., Findings of EMNLP 2022, arXiv 2211.04898) mask 50 %, as
its abstract says, and otherwise follow fairseq's RoBERTa pretraining README (examples/roberta/README.pretraining.md;
RoBERTa: arXiv 1907.11692): 2,048 x 512 tokens per update, 125k updates, peak lr 5e-4, warm-up 10k, polynomial
decay, Adam (0.9, 0.98) eps 1e-6, weight decay 0.01, no clipping, sample break mode complete, 80/10/10. Values the
papers do not give are marked NOT FOUND in each file, with our choice.
"""
import argparse
import os
import sys
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))

MAELM = dict(
    family="maelm", lr="2e-4", warmup=10000, clip="2.0", break_mode="complete_doc", tokens_per_gpu=16384,
    batch_size=None, mask_prob=0.15, leave_unmasked=0.0, random_token=0.0, fp16_init_scale=4, fp16_scale_window=256,
    seed=100,
)
THREEML = dict(
    family="threeml", lr="5e-4", warmup=10000, clip="0.0", break_mode="complete", tokens_per_gpu=None, batch_size=16,
    mask_prob=0.5, leave_unmasked=0.1, random_token=0.1, fp16_init_scale=128, fp16_scale_window=None, seed=1,
)
BASE_BUDGET = ("125k updates x 2,048 sequences: NOT FOUND in the MAE-LM paper text available to us; chosen = "
               "the BERT-base-scale budget of the RoBERTa README (same tokens as 3ML base)")
PLUS_BUDGET = ("500k updates x 2,048 sequences: NOT FOUND (base++ = 160 GB RoBERTa data); chosen = 4x the base "
               "budget, the RoBERTa-scale setting of COCO-LM-style base++ runs")
LARGE_LR = "peak lr for large: NOT FOUND; chosen 1e-4 (half the base value, for the 24-layer model's stability)"

@dataclass(frozen=True)
class Recipe:
    """One paper-table row: what it runs (a registered --arch, named as the recipe), the family's training values
    with this row's overrides, and the notes on values the papers do not give."""
    name: str
    title: str
    arch: str
    family: dict
    overrides: dict
    notes: tuple


RECIPES = [
    Recipe("maelm_base", "MAE-LM base (16 GB, BERT setting)", "maelm_base", MAELM, dict(updates=125000),
           (BASE_BUDGET,)),
    Recipe("maelm_base_plus", "MAE-LM base++ (160 GB, RoBERTa setting)", "maelm_base", MAELM, dict(updates=500000),
           (PLUS_BUDGET,)),
    Recipe("maelm_large", "MAE-LM large++ (160 GB)", "maelm_large", MAELM, dict(updates=500000, lr="1e-4"),
           (PLUS_BUDGET, LARGE_LR)),
    Recipe("mlm_base", "MLM baseline of MAE-LM, base (same encoder with rel-pos, [MASK] in the input, no decoder)",
           "maelm_mlm_base", MAELM, dict(updates=125000), (BASE_BUDGET,)),
    Recipe("mlm_base_plus", "MLM baseline of MAE-LM, base++", "maelm_mlm_base", MAELM, dict(updates=500000),
           (PLUS_BUDGET,)),
    Recipe("mlm_large", "MLM baseline of MAE-LM, large++", "maelm_mlm_large", MAELM, dict(updates=500000, lr="1e-4"),
           (PLUS_BUDGET, LARGE_LR)),
    Recipe("threeml_self_base", "3ML_self base (78 % of RoBERTa-base compute at equal updates)", "threeml_self_base",
           THREEML, dict(updates=125000),
           ("decoder depth: NOT FOUND ('a few layers'); arch default 2 (closest to the paper's 78 %/68 % in flops.py)",
            "80/10/10 replacement: NOT FOUND (the paper's figure shows a random replacement); chosen = RoBERTa's 10/10",
            "the 100 %-budget row: add --max-update 160000 --total-num-update 160000 (125k / 0.78)")),
    Recipe("threeml_cross_base", "3ML_cross base", "threeml_cross_base", THREEML, dict(updates=125000),
           ("decoder depth: NOT FOUND; arch default 2", "80/10/10: NOT FOUND; chosen = RoBERTa's 10/10")),
    Recipe("threeml_self_large", "3ML_self large (68 % of RoBERTa-large compute at equal updates)",
           "threeml_self_large", THREEML, dict(updates=125000, lr="2e-4"),
           ("large budget and lr: NOT FOUND; chosen 125k x 2,048 (as base) with lr 2e-4",
            "decoder depth: NOT FOUND; arch default 2", "80/10/10: NOT FOUND; chosen = RoBERTa's 10/10")),
    Recipe("threeml_cross_large", "3ML_cross large", "threeml_cross_large", THREEML, dict(updates=125000, lr="2e-4"),
           ("large budget and lr: NOT FOUND; chosen 125k x 2,048 with lr 2e-4",
            "decoder depth: NOT FOUND; arch default 2")),
    Recipe("roberta_base", "RoBERTa-base baseline of 3ML (absolute positions, no decoder, 15 % masking)",
           "maelm_roberta_base", THREEML, dict(updates=125000, mask_prob=0.15),
           ("the 3ML paper's own baseline recipe: NOT FOUND; chosen = fairseq's RoBERTa README recipe, as the 3ML rows",)),
    Recipe("roberta_large", "RoBERTa-large baseline of 3ML", "maelm_roberta_large", THREEML,
           dict(updates=125000, lr="2e-4", mask_prob=0.15),
           ("large budget and lr: NOT FOUND; chosen 125k x 2,048 with lr 2e-4 (as the 3ML large rows)",)),
]

SEQS_PER_UPDATE = 2048
TOKENS = 512


def settings(recipe):
    return dict(recipe.family, **recipe.overrides, name=recipe.name, title=recipe.title, arch=recipe.arch,
                notes=recipe.notes)


def script(s):
    per_gpu = (f"TOKENS_PER_GPU=${{TOKENS_PER_GPU:-{s['tokens_per_gpu']}}}  # {s['tokens_per_gpu'] // TOKENS} "
               f"sequences of {TOKENS}" if s["tokens_per_gpu"] else
               f"SEQS_PER_GPU=${{SEQS_PER_GPU:-{s['batch_size']}}}")
    seqs_per_gpu = f"$(( TOKENS_PER_GPU / {TOKENS} ))" if s["tokens_per_gpu"] else "$SEQS_PER_GPU"
    batching = ("--max-tokens \"$TOKENS_PER_GPU\"" if s["tokens_per_gpu"] else "--batch-size \"$SEQS_PER_GPU\"")
    fp16 = f"--fp16 --fp16-init-scale {s['fp16_init_scale']}" + (
        f" --fp16-scale-window {s['fp16_scale_window']}" if s["fp16_scale_window"] else "")
    notes = "".join(f"# - {n}\n" for n in s["notes"])
    return f"""#!/usr/bin/env bash
# {s['title']}
# Generated by examples/pretrain/recipes.py from its table (edit the table, then run it); see docs/analysis.md.
{notes}#
#   bash examples/pretrain/{s['name']}.sh DATA_BIN SAVE_DIR [fairseq-train overrides ...]
# {SEQS_PER_UPDATE} sequences x {TOKENS} tokens per update on any number of GPUs (NUM_GPUS, default: all visible):
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
run_pretrain "$DATA_BIN" "$SAVE_DIR" --arch {s['arch']} \\
    --task maelm --criterion maelm --tokens-per-sample {TOKENS} --sample-break-mode {s['break_mode']} \\
    --mask-prob {s['mask_prob']} --leave-unmasked-prob {s['leave_unmasked']} --random-token-prob {s['random_token']} \\
    --optimizer adam --adam-betas '(0.9,0.98)' --adam-eps 1e-6 --weight-decay 0.01 --clip-norm {s['clip']} \\
    --lr-scheduler polynomial_decay --lr {s['lr']} --warmup-updates {s['warmup']} \\
    --total-num-update {s['updates']} --max-update {s['updates']} \\
    {batching} --update-freq "$UPDATE_FREQ" --required-batch-size-multiple 8 \\
    --dropout 0.1 --attention-dropout 0.1 --ddp-backend c10d --num-workers 8 --seed {s['seed']} \\
    --log-format json --log-interval 100 --save-interval-updates 10000 --keep-interval-updates 30 \\
    --no-epoch-checkpoints --skip-invalid-size-inputs-valid-test "${{FP16[@]}}" -- "$@"
"""


def family_yaml(family):
    """config/family/NAME.yaml: every value the rows of one family share (composed after the row, see row_yaml)."""
    seqs_per_gpu = family["tokens_per_gpu"] // TOKENS if family["tokens_per_gpu"] else family["batch_size"]
    batching = (f"  max_tokens: {family['tokens_per_gpu']}\n" if family["tokens_per_gpu"] else
                f"  batch_size: {family['batch_size']}\n")
    scale_window = f"  fp16_scale_window: {family['fp16_scale_window']}\n" if family["fp16_scale_window"] else ""
    return f"""# @package _global_
# The {family['family']} family's shared training values, included by the rows of examples/pretrain/config/.
# Generated by examples/pretrain/recipes.py (edit its table, then run it). Never sets a row's own keys (arch, lr,
# updates, mask_prob): fairseq's schema fills the row file first, so a key set both here and in a row would be ours.
# update_freq assumes 8 GPUs: 8 x {seqs_per_gpu} sequences x {SEQS_PER_UPDATE // (8 * seqs_per_gpu)} = \
{SEQS_PER_UPDATE} per update; with N GPUs set optimization.update_freq=[{SEQS_PER_UPDATE // seqs_per_gpu}/N].
common:
  fp16: true
  fp16_init_scale: {family['fp16_init_scale']}
{scale_window}  log_format: json
  log_interval: 100
  seed: {family['seed']}
checkpoint:
  save_interval_updates: 10000
  keep_interval_updates: 30
  no_epoch_checkpoints: true
task:
  _name: maelm
  data: ???
  tokens_per_sample: {TOKENS}
  sample_break_mode: {family['break_mode']}
  leave_unmasked_prob: {family['leave_unmasked']}
  random_token_prob: {family['random_token']}
criterion: maelm
dataset:
{batching}  required_batch_size_multiple: 8
  num_workers: 8
  skip_invalid_size_inputs_valid_test: true
distributed_training:
  ddp_backend: c10d
optimization:
  clip_norm: {family['clip']}
  update_freq: [{SEQS_PER_UPDATE // (8 * seqs_per_gpu)}]
optimizer:
  _name: adam
  adam_betas: (0.9,0.98)
  adam_eps: 1.0e-06
  weight_decay: 0.01
lr_scheduler:
  _name: polynomial_decay
  warmup_updates: {family['warmup']}
model:
  dropout: 0.1
  attention_dropout: 0.1
"""


def row_yaml(s):
    """config/ROW.yaml: the row's own values; its family's file fills in the rest. `_self_` comes first in the
    defaults list because fairseq-hydra-train validates a config against a schema of the same name, and hydra merges
    that schema (with all its defaults) at the `_self_` position: listed last it would undo the family's values."""
    notes = "".join(f"# - {n}\n" for n in s["notes"])
    return f"""# {s['title']}
# Generated by examples/pretrain/recipes.py (edit its table, then run it). Same run as {s['name']}.sh.
{notes}#
#   maelm-hydra-train --config-dir examples/pretrain/config --config-name {s['name']} task.data=DATA_BIN \\
#       checkpoint.save_dir=SAVE_DIR
# (maelm-hydra-train adds common.user_dir; with plain fairseq-hydra-train add common.user_dir=/path/to/maelm_fairseq)
defaults:
  - _self_
  - family/{s['family']}
model:
  _name: {s['arch']}
task:
  mask_prob: {s['mask_prob']}
optimization:
  lr: [{float(s['lr'])}]
  max_update: {s['updates']}
lr_scheduler:
  total_num_update: {s['updates']}
"""


def outputs():
    files = {}
    for row in RECIPES:
        s = settings(row)
        files[os.path.join(HERE, s["name"] + ".sh")] = script(s)
        files[os.path.join(HERE, "config", s["name"] + ".yaml")] = row_yaml(s)
    for family in (MAELM, THREEML):
        files[os.path.join(HERE, "config", "family", family["family"] + ".yaml")] = family_yaml(family)
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
        print("out of date (run examples/pretrain/recipes.py): " + " ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
