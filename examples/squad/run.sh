#!/usr/bin/env bash
# Fine-tune on SQuAD v1.1 or v2.0 features from a pretraining checkpoint; every validation logs EM/F1
# (v2.0: also HasAns/NoAns and the best null thresholds). See examples/squad/README.md.
#
#   examples/squad/run.sh FEATURES_DIR CHECKPOINT SAVE_DIR [extra fairseq-train flags]
#
# FEATURES_DIR is the --output of preprocess/squad/prepare_squad.py. Environment overrides (defaults: BERT-base's
# SQuAD recipe, since MAE-LM's are not published): ARCH=maelm_base LR=3e-5 BATCH=32 EPOCHS=2 WARMUP=0.1 SEED=1,
# CPU=1 for fp32 on CPU (default: GPU fp16), DRY_RUN=1 to print the command instead of running it.
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 FEATURES_DIR CHECKPOINT SAVE_DIR [extra fairseq-train flags]" >&2
    exit 2
fi
DATA=$1 CHECKPOINT=$2 SAVE_DIR=$3
shift 3
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PYTHON=${PYTHON:-python}
ARCH=${ARCH:-maelm_base} LR=${LR:-3e-5} BATCH=${BATCH:-32} EPOCHS=${EPOCHS:-2} WARMUP=${WARMUP:-0.1} SEED=${SEED:-1}

if [ ! -f "$DATA/train.pt" ] || [ ! -f "$DATA/dict.txt" ]; then
    echo "error: $DATA has no train.pt/dict.txt: pass the --output directory of preprocess/squad/prepare_squad.py" >&2
    exit 2
fi
if [ ! -f "$CHECKPOINT" ]; then
    echo "error: CHECKPOINT $CHECKPOINT: no such file (pass the pretraining checkpoint_best.pt)" >&2
    exit 2
fi

# polynomial decay needs the total number of updates: features per epoch / batch size, times the epochs
FEATURES=$("$PYTHON" -c "import sys, torch; print(len(torch.load(sys.argv[1], weights_only=True)['features']))" "$DATA/train.pt")
TOTAL=$(( (FEATURES + BATCH - 1) / BATCH * EPOCHS ))
WARMUP_UPDATES=$("$PYTHON" -c "print(round($WARMUP * $TOTAL))")
if [ "${CPU:-0}" = 1 ]; then PRECISION=(--cpu); else PRECISION=(--fp16 --fp16-init-scale 4 --threshold-loss-scale 1); fi
VERSION=$("$PYTHON" -c "import sys, torch; print(torch.load(sys.argv[1], weights_only=True)['squad_version'])" "$DATA/train.pt")
METRIC=f1  # v2.0 users often select on best_f1 instead: pass --best-checkpoint-metric best_f1 after the arguments

COMMAND=("$PYTHON" -m fairseq_cli.train "$DATA" --user-dir "$REPO/maelm_fairseq"
    --task maelm_squad --criterion maelm_squad --arch "$ARCH" --restore-file "$CHECKPOINT"
    --reset-optimizer --reset-dataloader --reset-meters
    --optimizer adam --adam-betas "(0.9, 0.98)" --adam-eps 1e-06 --weight-decay 0.01 --clip-norm 0.0
    --lr "$LR" --lr-scheduler polynomial_decay --total-num-update "$TOTAL" --warmup-updates "$WARMUP_UPDATES"
    --batch-size "$BATCH" --max-epoch "$EPOCHS" --required-batch-size-multiple 1
    --dropout 0.1 --attention-dropout 0.1 --seed "$SEED" --save-dir "$SAVE_DIR"
    --best-checkpoint-metric "$METRIC" --maximize-best-checkpoint-metric --no-epoch-checkpoints
    --log-format simple "${PRECISION[@]}" "$@")

echo "SQuAD $VERSION: $FEATURES training features, $TOTAL updates ($WARMUP_UPDATES warmup)"
if [ "${DRY_RUN:-0}" = 1 ]; then
    printf '%q ' "${COMMAND[@]}"
    echo
    exit 0
fi
mkdir -p "$SAVE_DIR"
"${COMMAND[@]}" 2>&1 | tee "$SAVE_DIR/train.log"
grep "valid on 'valid' subset" "$SAVE_DIR/train.log" | tail -1
