#!/usr/bin/env bash
# Small-scale reproduction of MAE-LM / 3ML on CPU (docs/reproduction.md). Real English text (the pydoc-topics
# corpus, maelm_fairseq/data/demo_corpus.py) -> sentencepiece 2k -> four tiny systems pretrained at EQUAL UPDATES
# and at EQUAL FLOPs (the MLM baseline's) -> fine-tuned on the corpus's sentence-pair task (does B follow A?) with
# several seeds, plus a from-scratch control -> masked-LM validation loss, fine-tune accuracy (median of seeds),
# effective-rank curves (maelm-rank) and FLOPs -> WORK/report.md, WORK/results.json, WORK/*.png.
#
#   bash examples/repro/run.sh [WORK_DIR]                 (default work/repro; finished steps are skipped on rerun)
#
# Budget knobs (environment; defaults = the reduced run committed in docs/reproduction.md, ~25 min on 2 busy cores):
#   UPDATES=500      pretraining updates of every system in the equal-updates arm (and of MLM in both arms)
#   SEEDS="1 2 3"    fine-tuning seeds (median reported) of the equal-updates runs and the no-pretraining control
#   FLOPS_SEEDS="1"  fine-tuning seeds of the runs that exist only for the equal-FLOPs arm
#   LAYERS=4 DIM=64  encoder depth / width (FFN 4*DIM, 2 heads); every decoder has DEC_LAYERS=1 layer
#   TOKENS=128 BATCH=16 LR=2e-3      pretraining block size, sequences per update, peak lr
#   FT_EPOCHS=2      fine-tuning epochs (best validation epoch reported, as fairseq's GLUE recipe)
#   RANK_TOKENS=20000  real tokens sampled by maelm-rank per model and condition (the valid split has ~4.4k)
#   JOBS=2           pretraining / fine-tuning runs side by side, one thread each
#   STAGES="data pretrain eval finetune rank report"
# The "full" CPU run of the issue (~1-1.5 h on 2 idle cores, estimated):
#   UPDATES=4000 SEEDS="1 2 3 4 5" FLOPS_SEEDS="1 2 3 4 5" FT_EPOCHS=5 bash examples/repro/run.sh work/repro-full
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK="${1:-work/repro}"
PY=${PY:-.venv/bin/python}
BIN=$(dirname "$PY")
UPDATES=${UPDATES:-500}
SEEDS=${SEEDS:-"1 2 3"}
FLOPS_SEEDS=${FLOPS_SEEDS:-1}
LAYERS=${LAYERS:-4}
DIM=${DIM:-64}
DEC_LAYERS=${DEC_LAYERS:-1}
TOKENS=${TOKENS:-128}
BATCH=${BATCH:-16}
LR=${LR:-2e-3}
FT_EPOCHS=${FT_EPOCHS:-2}
RANK_TOKENS=${RANK_TOKENS:-20000}
STAGES=${STAGES:-"data pretrain eval finetune rank report"}
JOBS=${JOBS:-2}  # trainings run side by side (each single-threaded)
# Tiny models on a shared 2-core machine: one thread per process is several times faster than torch's default.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}
mkdir -p "$WORK"/{pretrain,finetune,eval,rank,logs}
start=$(date +%s)
step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }
has() { [[ " $STAGES " == *" $1 "* ]]; }
in_parallel() {  # FUNCTION ARG...: FUNCTION ARG for each ARG, at most $JOBS at a time; fails if any failed
  local fn=$1 failed=0; shift
  for a in "$@"; do
    while (( $(jobs -rp | wc -l) >= JOBS )); do wait -n || failed=1; done
    $fn "$a" &
  done
  while (( $(jobs -rp | wc -l) > 0 )); do wait -n || failed=1; done
  return $failed
}

# system name -> model/task flags. All share the encoder, positions (absolute, no rel-pos: every system is then
# exportable to HF and they differ only in where [MASK] enters), optimiser, data and block size.
declare -A SYS=(
  [mlm]="--decoder-layers 0 --mask-prob 0.15"
  [maelm]="--decoder-layers $DEC_LAYERS --decoder-type self --mask-embedding tied --mask-prob 0.15"
  [threeml_self]="--decoder-layers $DEC_LAYERS --decoder-type self --mask-embedding learned --mask-prob 0.5"
  [threeml_cross]="--decoder-layers $DEC_LAYERS --decoder-type cross --mask-embedding learned --mask-prob 0.5"
)
ORDER="mlm maelm threeml_self threeml_cross"
ENCODER="--arch maelm_tiny --encoder-layers $LAYERS --encoder-embed-dim $DIM --encoder-ffn-embed-dim $((4 * DIM))
         --encoder-attention-heads 2 --rel-pos 0"

if has data; then
  step "data: pydoc-topics corpus -> sentencepiece 2k -> data-bin; sentence-pair task"
  if [ ! -f "$WORK/data-bin/dict.txt" ]; then
    $PY -m maelm_fairseq.data.demo_corpus "$WORK/text"
    $PY preprocess/pretrain/prepare_corpus.py --input "$WORK/text/train.txt" --valid-input "$WORK/text/valid.txt" \
        --output "$WORK/data-bin" --tokenizer sentencepiece --vocab-size 2000 --workers 1 > "$WORK/logs/data.log" 2>&1
  fi
  [ -f "$WORK/pairs-bin/label/dict.txt" ] || \
    $PY examples/tiny/prepare_pairs.py "$WORK/text/pairs" "$WORK/data-bin" "$WORK/pairs-bin" > "$WORK/logs/pairs.log" 2>&1
fi
VOCAB=$(( $(wc -l < "$WORK/data-bin/dict.txt") + 5 ))  # dict.txt + 4 fairseq specials + <mask>

# Equal FLOPs: every system gets the updates whose theoretical training FLOPs equal MLM's at $UPDATES updates.
$PY examples/repro/flops.py --updates "$UPDATES" --layers "$LAYERS" --dim "$DIM" --vocab "$VOCAB" --tokens "$TOKENS" \
    --batch "$BATCH" --system mlm:0:0.15 --system maelm:$DEC_LAYERS:0.15 --system threeml_self:$DEC_LAYERS:0.5 \
    --system threeml_cross:$DEC_LAYERS:0.5:cross > "$WORK/flops.json"
equal_flops_updates() { $PY -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]['equal_flops_updates'])" \
    "$WORK/flops.json" "$1"; }
RUNS=""  # run names: SYSTEM-uN
for s in $ORDER; do RUNS+=" $s-u$UPDATES"; done
for s in maelm threeml_self threeml_cross; do
  u=$(equal_flops_updates $s); [[ " $RUNS " == *" $s-u$u "* ]] || RUNS+=" $s-u$u"
done

pretrain() {  # $1 = run name SYSTEM-uN
  local run=$1 sys=${1%-u*} n=${1##*-u}
  [ -f "$WORK/pretrain/$run/checkpoint_last.pt" ] && return
  $BIN/fairseq-train "$WORK/data-bin" --user-dir maelm_fairseq --task maelm --criterion maelm $ENCODER ${SYS[$sys]} \
      --tokens-per-sample "$TOKENS" --batch-size "$BATCH" --optimizer adam --adam-betas '(0.9,0.98)' \
      --adam-eps 1e-6 --weight-decay 0.01 --clip-norm 2.0 --lr "$LR" --lr-scheduler polynomial_decay \
      --warmup-updates $(( n / 16 )) --total-num-update "$n" --max-update "$n" --cpu --num-workers 0 \
      --data-buffer-size 0 --seed 1 \
      --disable-validation --log-format simple --log-interval 100 --save-dir "$WORK/pretrain/$run" \
      --no-epoch-checkpoints > "$WORK/logs/pretrain-$run.log" 2>&1
}
if has pretrain; then
  step "pretrain:$RUNS"
  in_parallel pretrain $RUNS
  for run in $RUNS; do echo "$run: $(grep -h "done training" "$WORK/logs/pretrain-$run.log" | sed 's/.*| //')"; done
fi

if has eval; then
  step "masked-LM validation loss (bits/predicted token; same masks for every model)"
  for run in $RUNS; do
    [ -f "$WORK/eval/$run.json" ] || \
      $PY examples/repro/mlm_loss.py "$WORK/pretrain/$run/checkpoint_last.pt" "$WORK/data-bin" > "$WORK/eval/$run.json"
    cat "$WORK/eval/$run.json"
  done
fi

finetune() {  # $1 = RUN:SEED (RUN = a pretraining run name or "scratch")
  local run=${1%:*} seed=${1##*:} init=()
  local log="$WORK/finetune/$run-seed$seed.log"
  [ -f "$log" ] && grep -q "done training" "$log" && return
  [ "$run" != scratch ] && init=(--restore-file "$WORK/pretrain/$run/checkpoint_last.pt" --reset-optimizer
                                 --reset-dataloader --reset-meters --reset-lr-scheduler)
  $BIN/fairseq-train "$WORK/pairs-bin" --user-dir maelm_fairseq --task sentence_prediction \
      --criterion maelm_sentence_prediction $ENCODER --unpad never --num-classes 2 --init-token 0 --separator-token 2 \
      --max-positions 512 --batch-size 32 --optimizer adam --adam-betas '(0.9,0.98)' --adam-eps 1e-6 --lr 1e-3 \
      --weight-decay 0.01 --lr-scheduler polynomial_decay --warmup-updates 30 --total-num-update $(( FT_BATCHES * FT_EPOCHS )) \
      --max-epoch "$FT_EPOCHS" --cpu --num-workers 0 --data-buffer-size 0 --seed "$seed" --log-format simple \
      --log-interval 1000 \
      --save-dir "$WORK/finetune/tmp" --no-save --best-checkpoint-metric accuracy --maximize-best-checkpoint-metric \
      "${init[@]}" > "$log" 2>&1
}
FT_BATCHES=$(( ($(wc -l < "$WORK/text/pairs/train.label") + 31) / 32 ))  # updates per fine-tuning epoch
if has finetune; then
  step "fine-tune$RUNS scratch (seeds $SEEDS; equal-FLOPs-only runs: $FLOPS_SEEDS)"
  in_parallel finetune $(for run in $RUNS scratch; do
    seeds=$SEEDS; [[ $run == scratch || $run == *-u$UPDATES ]] || seeds=$FLOPS_SEEDS
    for seed in $seeds; do echo "$run:$seed"; done
  done)
fi

if has rank; then
  step "effective rank per layer, inputs with / without [MASK] (maelm-rank)"
  for run in $RUNS; do
    [ -f "$WORK/rank/$run.json" ] || \
      $PY -m maelm_fairseq.analysis.rank_cli "$WORK/pretrain/$run/checkpoint_last.pt" --data "$WORK/data-bin" \
          --split valid --max-tokens "$RANK_TOKENS" --name "$run" --out "$WORK/rank/$run" --no-progress \
          > "$WORK/logs/rank-$run.log" 2>&1
  done
fi

if has report; then
  step "report"
  $PY examples/repro/report.py "$WORK" --updates "$UPDATES" --seeds "$(echo $SEEDS $FLOPS_SEEDS | tr ' ' '\n' | sort -nu)"
fi
step "done; everything is under $WORK/"
