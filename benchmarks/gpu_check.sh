#!/usr/bin/env bash
# Everything that needs a GPU, in one command of at most 8.5 minutes on one H100/H200, into one markdown report:
#   1. the CUDA-only tests (FlashAttention varlen, half-precision forward/backward, fp16 loss scaler on cuda),
#   2. "how do we compare with ModernBERT on an H100": benchmarks/step_time.py at base, T=512, bf16, batch 32, our
#      MLM and 3ML_self (as the papers set them, and with the opt-in speed flags), stock fairseq RoBERTa, HF
#      ModernBERT and HF RoBERTa, full blocks and complete_doc rows, each fairseq row next to fairseq-train's own
#      loop, FLOPs counted for every system and MFU against 989 TFLOP/s,
#   3. the input-pipeline benchmark with 1, 2 and 4 loader workers (benchmarks/input_pipeline.py).
#
#   benchmarks/gpu_check.sh                  # on the GPU machine: writes benchmarks/results/gpu_check.md
#   benchmarks/gpu_check.sh --out PREFIX     # writes PREFIX.md (and the step-time/input-pipeline files next to it)
#   benchmarks/gpu_check.sh --dry-run        # on CPU: every step at a tiny size, tests only collected
#
# Each step has its own time limit (150 + 240 + 120 s = 8.5 min); a failed or timed-out step is reported and the
# others still run; the exit status is non-zero when any step failed. PYTHON overrides the interpreter
# (default: .venv/bin/python when present).
#
# On the lent GPU machine (no network; its python3 has torch): once here, `bash tools/gpu_wheelhouse.sh` (.whl/,
# 13 MiB), then one device `run` with carry [".whl"], timeout_s 600 (install about 40 s, then at most 8.5 min):
#   set -o pipefail; PYTHON=python3 WHEELHOUSE=.whl bash install.sh 2>&1 | tee $OUT/install.log || exit 1;
#   bash benchmarks/gpu_check.sh --out /tmp/gc/gpu_check; rc=$?; cp /tmp/gc/gpu_check.{md,tests.log,step_time.log,
#   step_time.json,step_time.png,input_pipeline.log,input_pipeline.json} $OUT/; exit $rc
# (at most 8 files come back: install.log and those 7; benchmarks/README.md, "One GPU check").
set -u
cd "$(dirname "$0")/.."

DRY_RUN=0
OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --out) OUT="$2"; shift ;;
        -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "error: $1: unknown option; use --dry-run and/or --out PREFIX" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$OUT" ]; then
    if [ "$DRY_RUN" = 1 ]; then OUT="${TMPDIR:-/tmp}/gpu_check_dry_run/gpu_check"; else OUT="benchmarks/results/gpu_check"; fi
fi
mkdir -p "$(dirname "$OUT")"
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

# The tests that need CUDA carry the `cuda` marker (tests/conftest.py).
# The comparison with the peers, the same on the GPU and in the dry run but for device and size. bf16: fairseq-train's
# --bf16 for the fairseq systems (bf16 weights, fp32 master copy; fairseq_fixes 7. keeps it off the TPU path), the
# HF Trainer's bf16 autocast for the peers; attention through torch SDPA for everyone.
PEERS=(--systems roberta,maelm_mlm,threeml_self --peers modernbert,roberta-hf --sample-break-mode none,complete_doc
       --dtype bf16 --peak-tflops 989.4
       --variant "speed flags=--fused-head-loss --optimizer torch_adamw")
if [ "$DRY_RUN" = 1 ]; then
    TEST_CMD=("$PYTHON" -m pytest tests -m cuda --collect-only -q)
    STEP_CMD=("$PYTHON" benchmarks/step_time.py --device cpu --size tiny --steps 1 --warmup 0 "${PEERS[@]}" --out "$OUT.step_time")
    PIPE_CMD=("$PYTHON" benchmarks/input_pipeline.py --quick --seq-lens 512 --mask-probs 0.5 --workers 1,2
              --out "$OUT.input_pipeline")
else
    TEST_CMD=("$PYTHON" -m pytest tests -m cuda -rA -q)
    STEP_CMD=("$PYTHON" benchmarks/step_time.py --device cuda --size base --seq-len 512 --batch-size 32 --steps 8
              --warmup 2 "${PEERS[@]}" --out "$OUT.step_time")
    PIPE_CMD=("$PYTHON" benchmarks/input_pipeline.py --workers 1,2,4 --seconds 1.5 --out "$OUT.input_pipeline")
fi

FAILED=0
run_step() {  # run_step NAME SECONDS CMD...: output to $OUT.NAME.log, status line into the report
    local name="$1" limit="$2"; shift 2
    local start=$SECONDS
    timeout "$limit" "$@" > "$OUT.$name.log" 2>&1
    local status=$?
    local took=$((SECONDS - start))
    if [ "$status" = 0 ]; then
        echo "- $name: ok (${took} s)" >> "$OUT.status"
    elif [ "$status" = 124 ]; then
        echo "- $name: TIMED OUT after ${limit} s (see $OUT.$name.log)" >> "$OUT.status"; FAILED=1
    else
        echo "- $name: FAILED, exit $status (see $OUT.$name.log)" >> "$OUT.status"; FAILED=1
    fi
    echo "$name: exit $status in ${took} s" >&2
}

: > "$OUT.status"
run_step tests 150 "${TEST_CMD[@]}"
run_step step_time 240 "${STEP_CMD[@]}"
run_step input_pipeline 120 "${PIPE_CMD[@]}"

{
    echo "# GPU check$([ "$DRY_RUN" = 1 ] && echo ' (dry run on CPU: tiny sizes, tests collected only)')"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo "?"), $(getconf _NPROCESSORS_ONLN) CPU cores"
    echo
    if command -v nvidia-smi > /dev/null; then
        echo '```'
        nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
        echo '```'
    else
        echo "no nvidia-smi on this machine"
    fi
    "$PYTHON" -c "import torch; print(f'torch {torch.__version__}, CUDA {torch.version.cuda}, cuda available: {torch.cuda.is_available()}')"
    echo
    echo "## Steps"
    echo
    cat "$OUT.status"
    echo
    echo "## CUDA-only tests"
    echo
    echo '```'
    grep -E "^(PASSED|FAILED|ERROR|SKIPPED)|::|passed|failed|error|skipped|selected|collected" "$OUT.tests.log" | tail -40
    echo '```'
    echo
    echo "## Step time against Hugging Face ModernBERT and RoBERTa: base, T=512, bf16 (benchmarks/step_time.py)"
    echo
    if [ -f "$OUT.step_time.md" ]; then cat "$OUT.step_time.md"; else echo "no table: see $OUT.step_time.log"; fi
    echo
    echo "## Input pipeline (benchmarks/input_pipeline.py)"
    echo
    if [ -f "$OUT.input_pipeline.md" ]; then cat "$OUT.input_pipeline.md"; else echo "no table: see $OUT.input_pipeline.log"; fi
} > "$OUT.md"
rm -f "$OUT.status"
echo "wrote $OUT.md" >&2
exit $FAILED
