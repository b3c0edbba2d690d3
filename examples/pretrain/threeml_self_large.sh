#!/usr/bin/env bash
# 3ML_self large (68 % of RoBERTa-large compute at equal updates)
# Generated from its recipe in examples/recipes.py (edit it there; see docs/analysis.md). Regenerate:
#   python examples/pretrain/generate.py
# - large budget and lr: NOT FOUND; chosen 125k x 2,048 (as base) with lr 2e-4
# - decoder depth: NOT FOUND; arch default 2
# - 80/10/10: NOT FOUND; chosen = RoBERTa's 10/10
#
#   bash examples/pretrain/threeml_self_large.sh DATA_BIN SAVE_DIR [fairseq-train overrides ...]
# 2048 sequences x 512 tokens per update on any number of GPUs (NUM_GPUS, default: all visible):
# update-freq = 2048 / (NUM_GPUS x sequences per GPU). DRY_RUN=1 adds tiny-shape CPU overrides and
# stops after one update (tests); ECHO=1 prints the command instead of running it.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DATA_BIN SAVE_DIR [fairseq-train overrides ...]" >&2; exit 2; }
DATA_BIN=$1 SAVE_DIR=$2
shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/common.sh"
SEQS_PER_GPU=${SEQS_PER_GPU:-16}
UPDATE_FREQ=${UPDATE_FREQ:-$(update_freq 2048 $SEQS_PER_GPU)}
FP16=(--fp16 --fp16-init-scale 128)
run_pretrain "$DATA_BIN" "$SAVE_DIR" --arch threeml_self_large \
    --task maelm --criterion maelm --tokens-per-sample 512 --sample-break-mode complete \
    --mask-prob 0.5 --leave-unmasked-prob 0.1 --random-token-prob 0.1 \
    --optimizer adam --adam-betas '(0.9,0.98)' --adam-eps 1e-6 --weight-decay 0.01 --clip-norm 0.0 \
    --lr-scheduler polynomial_decay --lr 2e-4 --warmup-updates 10000 \
    --total-num-update 125000 --max-update 125000 \
    --batch-size "$SEQS_PER_GPU" --update-freq "$UPDATE_FREQ" --required-batch-size-multiple 8 \
    --dropout 0.1 --attention-dropout 0.1 --ddp-backend c10d --num-workers 8 --seed 1 \
    --log-format json --log-interval 100 --save-interval-updates 10000 --keep-interval-updates 30 \
    --no-epoch-checkpoints --skip-invalid-size-inputs-valid-test "${FP16[@]}" -- "$@"
