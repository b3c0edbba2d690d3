#!/usr/bin/env bash
# The tiny demo (make demo): real English text -> sentencepiece -> data-bin -> MAE-LM pretraining (maelm_tiny)
# -> fine-tuning on a sentence-pair task built from the same text -> report. A few minutes on 2 CPU cores.
#   bash examples/tiny/run.sh [WORK_DIR]        (default: work/tiny; re-running starts from scratch)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK="${1:-work/tiny}"
PY=.venv/bin/python
BIN=.venv/bin
UPDATES="${PRETRAIN_UPDATES:-400}"
rm -rf "$WORK" && mkdir -p "$WORK"
start=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "1. corpus: prose of the Python language reference (ships with Python)"
$PY -m maelm_fairseq.data.demo_corpus "$WORK/text"

step "2. sentencepiece (vocab 2000) + fairseq-preprocess"
$PY preprocess/pretrain/prepare_corpus.py --input "$WORK/text/train.txt" --valid-input "$WORK/text/valid.txt" \
    --output "$WORK/data-bin" --tokenizer sentencepiece --vocab-size 2000 --workers 2 2>&1 \
    | grep -v " | INFO | "

step "3. MAE-LM pretraining, maelm_tiny, $UPDATES updates"
$BIN/fairseq-train "$WORK/data-bin" --user-dir maelm_fairseq --task maelm --criterion maelm --arch maelm_tiny \
    --tokens-per-sample 128 --batch-size 16 --optimizer adam --adam-betas '(0.9,0.98)' --weight-decay 0.01 \
    --lr 2e-3 --lr-scheduler polynomial_decay --warmup-updates 40 --total-num-update "$UPDATES" \
    --max-update "$UPDATES" --clip-norm 2.0 --cpu --num-workers 0 --seed 1 --log-format simple --log-interval 50 \
    --save-dir "$WORK/pretrain" --no-epoch-checkpoints 2>&1 | grep --line-buffered -E "train_inner|valid on|done training" \
    | tee "$WORK/pretrain.log"

step "4. sentence-pair task from the same text (is the topic Python's data model?), binarized with the same dict"
$PY examples/tiny/prepare_pairs.py "$WORK/text/pairs" "$WORK/data-bin" "$WORK/pairs-bin" >/dev/null

finetune() {  # $1 = name, rest = extra fairseq-train flags
    local name=$1; shift
    $BIN/fairseq-train "$WORK/pairs-bin" --user-dir maelm_fairseq --task sentence_prediction \
        --criterion maelm_sentence_prediction --arch maelm_tiny --num-classes 2 --init-token 0 --separator-token 2 \
        --max-positions 512 --batch-size 32 --optimizer adam --adam-betas '(0.9,0.98)' --lr 1e-3 \
        --lr-scheduler polynomial_decay --warmup-updates 30 --total-num-update 340 --max-epoch 10 --cpu \
        --num-workers 0 --seed 1 --log-format simple --log-interval 100 --save-dir "$WORK/finetune-$name" \
        --no-save --best-checkpoint-metric accuracy --maximize-best-checkpoint-metric "$@" 2>&1 \
        | grep --line-buffered -E "valid on|done training" | tee "$WORK/finetune-$name.log"
}
step "5. fine-tune from the MAE-LM encoder (decoder dropped)"
finetune pretrained --restore-file "$WORK/pretrain/checkpoint_last.pt" --reset-optimizer --reset-dataloader \
    --reset-meters --reset-lr-scheduler
step "6. the same fine-tuning from random initialisation, for comparison"
finetune scratch

step "7. report"
$PY examples/tiny/masked_lm_loss.py "$WORK/pretrain/checkpoint_last.pt" "$WORK/data-bin"
best() { grep -o "| accuracy [0-9.]*" "$1" | awk '{print $3}' | sort -g | tail -1; }
echo "pair-task valid accuracy (best of 10 epochs): from MAE-LM pretraining $(best "$WORK/finetune-pretrained.log")%," \
     "from scratch $(best "$WORK/finetune-scratch.log")% (chance 50%)"
echo "demo finished in $(( $(date +%s) - start ))s; everything is under $WORK/"
