# Shared by the recipe scripts of examples/pretrain/ (sourced, not run).

# update_freq TARGET_SEQUENCES SEQUENCES_PER_GPU: gradient accumulation for NUM_GPUS (default: all visible, >= 1)
update_freq() {
  local gpus=${NUM_GPUS:-$( (nvidia-smi -L 2>/dev/null || true) | grep -c "^GPU" || true)}
  [ "${gpus:-0}" -ge 1 ] || gpus=1
  local freq=$(( $1 / (gpus * $2) ))
  [ "$freq" -ge 1 ] || freq=1
  echo "$freq"
}

# run_pretrain DATA_BIN SAVE_DIR RECIPE_ARGS... -- USER_ARGS...
# Runs maelm-train (fairseq-train with --user-dir set; $MAELM_TRAIN to use another). User arguments come last, so
# they override the recipe (argparse keeps the last value).
#   DRY_RUN=1  tiny shapes on CPU, one update, nothing saved, fp16 flags dropped: checks the recipe parses and runs
#              (--data-buffer-size 0: fairseq's background prefetch thread sometimes aborts the process at exit)
#   ECHO=1     print the command instead of running it
run_pretrain() {
  local data=$1 save=$2 recipe=() extra=() repo train
  shift 2
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do recipe+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  train=${MAELM_TRAIN:-}
  if [ -z "$train" ]; then
    train=$(command -v maelm-train || true)
    [ -n "$train" ] || train="$repo/.venv/bin/maelm-train"
  fi
  if [ "${DRY_RUN:-0}" = 1 ]; then
    local kept=() skip=0 a py tiny
    for a in "${recipe[@]}"; do
      if [ $skip = 1 ]; then skip=0; continue; fi
      case "$a" in
        --fp16) ;;
        --fp16-init-scale|--fp16-scale-window) skip=1 ;;
        *) kept+=("$a") ;;
      esac
    done
    recipe=("${kept[@]}")
    # the tiny model of examples/recipes.py (stdlib only: the python next to maelm-train, else any python3)
    py=$(dirname "$train")/python
    [ -x "$py" ] || py=python3
    tiny=$("$py" "$repo/examples/recipes.py" flags tiny)
    eval "extra=($tiny)"
    extra+=(--tokens-per-sample 64 --max-tokens 1024 --batch-size 8 --update-freq 1 --required-batch-size-multiple 1
            --max-update 1 --total-num-update 1 --warmup-updates 0 --cpu --num-workers 0 --no-save
            --disable-validation --log-format simple --log-interval 1 --data-buffer-size 0)
  fi
  local cmd=("$train" "$data" --save-dir "$save" "${recipe[@]}" "${extra[@]}" "$@")
  if [ "${ECHO:-0}" = 1 ]; then
    printf '%q ' "${cmd[@]}"
    echo
    return 0
  fi
  "${cmd[@]}"
}
