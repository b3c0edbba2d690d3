#!/usr/bin/env bash
# Idempotent set-up of maelm-fairseq into .venv/ from the package registries alone.
#   bash install.sh            # what `make demo` and `make test` run first
# Environment:
#   PYTHON=python3.11          interpreter used to create .venv (default: python3)
#   VENV=.venv                 where to install
#   TORCH_SPEC="torch==2.13.0" torch to install when none is importable (CPU wheel on this machine).
#                              An already importable torch (e.g. your CUDA build, seen through
#                              --system-site-packages) is never replaced.
#   WHEELHOUSE=.whl            offline (the lent GPU machine): every package from this folder, none from an index
#                              (pip --no-index --find-links); tools/gpu_wheelhouse.sh fills it. PYTHON must have torch.
# A second run with unchanged inputs only checks the environment and exits (a few seconds).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
VENV="${VENV:-$HERE/.venv}"
PYTHON="${PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
WHEELHOUSE="${WHEELHOUSE:-}"
STAMP="$VENV/.maelm-install-stamp"

say() { printf '[install] %s\n' "$*"; }

# Everything that decides what gets installed; a change to any of them re-runs the full install.
inputs_hash() {
    cat install.sh tools/patch_fairseq_0122.py setup.py | sha256sum | cut -d' ' -f1
}

check_env() {
    "$VENV/bin/python" - <<'PY'
import fairseq, fastBPE, sacremoses, sentencepiece, numpy, torch, hydra, omegaconf, tensorboardX  # noqa: F401
from fairseq.data import data_utils_fast, token_block_utils_fast  # noqa: F401  (Cython extensions)
import maelm_fairseq.tasks  # noqa: F401  (registers the plugin, as --user-dir does)
print("[install] fairseq", fairseq.__version__, "| torch", torch.__version__, "| numpy", numpy.__version__,
      "| hydra", hydra.__version__, "| omegaconf", omegaconf.__version__)
PY
}

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(inputs_hash)" ] && check_env 2>/dev/null; then
    say "environment in $VENV is up to date; nothing to do"
    exit 0
fi

"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 9), sys.version' \
    || { echo "[install] error: $PYTHON is older than Python 3.9; set PYTHON=python3.11" >&2; exit 1; }

if [ -n "$WHEELHOUSE" ]; then
    [ -d "$WHEELHOUSE" ] || { echo "[install] error: WHEELHOUSE=$WHEELHOUSE is no directory; fill it with tools/gpu_wheelhouse.sh" >&2; exit 1; }
    WHEELHOUSE="$(cd "$WHEELHOUSE" && pwd)"
    pyver="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    ls "$WHEELHOUSE"/fairseq-0.12.2-cp"${pyver/./}"-*.whl >/dev/null 2>&1 || { echo "[install] error: $WHEELHOUSE has no" \
        "fairseq wheel for Python $pyver; run tools/gpu_wheelhouse.sh $WHEELHOUSE --python-version $pyver" >&2; exit 1; }
    "$PYTHON" -c 'import torch' 2>/dev/null || { echo "[install] error: $PYTHON has no torch, and the wheelhouse" \
        "holds none; use an interpreter with torch (the GPU machine's python3)" >&2; exit 1; }
fi

if [ ! -x "$VENV/bin/python" ]; then
    # If the base interpreter already has torch (typically a CUDA build on a GPU machine), let the venv see
    # it instead of installing a second, CPU-only copy.
    if "$PYTHON" -c 'import torch' 2>/dev/null; then
        say "creating $VENV with --system-site-packages (keeping the torch of $PYTHON)"
        # Second try without pip, for a base python without ensurepip (Debian's without python3-venv): pip then
        # comes from $PYTHON's own site-packages, linked below.
        "$PYTHON" -m venv --system-site-packages "$VENV" 2>/dev/null \
            || { rm -rf "$VENV"; "$PYTHON" -m venv --system-site-packages --without-pip "$VENV"; }
        # A $PYTHON that is itself a venv (the GPU machine's python3 is /opt/torch/.venv/bin/python3) passes on its
        # base interpreter's packages, not its own torch: put its site-packages on the new venv's path too.
        if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then
            say "$PYTHON is a venv itself: linking its site-packages into $VENV"
            "$PYTHON" -c 'import os, site; print("".join(f"import site; site.addsitedir({p!r})\n"
                                                   for p in site.getsitepackages() if os.path.isdir(p)))' \
                > "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/_maelm_base_site.pth"
        fi
    else
        say "creating $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip install -q --disable-pip-version-check)
NUMPY_SPEC="numpy<2"
FAIRSEQ_FROM="sdist"
if [ -n "$WHEELHOUSE" ]; then
    PIP+=(--no-index --find-links "$WHEELHOUSE")
    # The wheelhouse's Cython extensions are built against numpy 2 (and the GPU machine has numpy 2): keep it.
    NUMPY_SPEC="numpy>=2"
    FAIRSEQ_FROM="wheel from $WHEELHOUSE"
    say "offline: installing from $WHEELHOUSE only"
fi

if "$PY" -c 'import torch' 2>/dev/null; then
    say "keeping installed torch $("$PY" -c 'import torch; print(torch.__version__)')"
else
    say "installing $TORCH_SPEC"
    "${PIP[@]}" "$TORCH_SPEC"
fi

# fairseq without its declared deps: its pins (hydra-core<1.1, omegaconf<2.1, torchaudio) are what breaks on
# Python 3.11 / torch 2.x. Its Cython extensions build in pip's isolated env (never --no-build-isolation here:
# the 0.12.2 sdist lacks the C++ sources that setup.py would then try to build).
if ! "$PY" -c 'import importlib.metadata as m; assert m.version("fairseq") == "0.12.2"' 2>/dev/null; then
    say "installing fairseq==0.12.2 ($FAIRSEQ_FROM, --no-deps)"
    "${PIP[@]}" --no-deps "fairseq==0.12.2"
fi

say "installing fairseq's runtime dependencies, and ours (hydra-core 1.3 / omegaconf 2.3 replace the hydra-core<1.1 /" \
    "omegaconf<2.1 / torchaudio pins fairseq 0.12.2 declares, on purpose: those do not import on Python 3.11)"
# --no-warn-conflicts: pip would otherwise end this step with an "ERROR: pip's dependency resolver ..." block
# listing exactly those declared pins, which we replace on purpose (the install succeeds; check_env below proves
# that everything imports and fairseq-train starts).
# tensorboardX: the writer behind fairseq's --tensorboard-logdir (fairseq tries torch.utils.tensorboard, which needs
# the whole tensorboard server package, then tensorboardX, which needs only protobuf). View the curves with any
# TensorBoard (pip install tensorboard, on any machine).
"${PIP[@]}" --no-warn-conflicts "hydra-core==1.3.2" "omegaconf==2.3.0" "$NUMPY_SPEC" "bitarray<3" \
    cffi cython regex "sacrebleu>=1.4.12" tqdm "sacremoses==0.2.0" "sentencepiece>=0.2" \
    "pytest>=7" "pytest-xdist>=3" "matplotlib>=3.7" "transformers>=5" "tensorboardX>=2.6,<3"

# fastBPE's sdist carries a 2019 Cython output that includes <longintrepr.h> (gone in 3.11); its setup.py
# re-cythonizes when Cython is importable, so build it in the venv rather than in isolation.
if ! "$PY" -c 'import fastBPE' 2>/dev/null; then
    say "building fastBPE (Python extension)"
    "${PIP[@]}" --no-build-isolation "fastbpe==0.1.0"
fi

# The PyPI package only applies BPE codes; the learner is a C++ CLI in the same sdist. Build it into the venv.
# Offline, the sdist comes from the wheelhouse; without a g++ there the CLI is skipped (the GPU checks learn no BPE).
if [ ! -x "$VENV/bin/fastbpe" ] && [ -n "$WHEELHOUSE" ] && ! command -v g++ >/dev/null; then
    say "no g++ here: skipping the fastBPE command-line tool (learnbpe); the Python fastBPE is installed"
elif [ ! -x "$VENV/bin/fastbpe" ]; then
    say "building the fastBPE command-line tool (learnbpe/applybpe) into $VENV/bin/fastbpe"
    tmp="$(mktemp -d)"
    if [ -n "$WHEELHOUSE" ]; then
        cp "$WHEELHOUSE"/fastBPE-0.1.0.tar.gz "$tmp"/
    else
        "$PY" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: -d "$tmp" "fastbpe==0.1.0"
    fi
    tar -xzf "$tmp"/*.tar.gz -C "$tmp"
    src="$(dirname "$(ls "$tmp"/*/fastBPE/main.cc)")"
    g++ -std=c++11 -pthread -O3 "$src/main.cc" -I"$src" -o "$VENV/bin/fastbpe"
    rm -rf "$tmp"
fi

say "patching fairseq 0.12.2 for Python 3.11 / numpy / torch>=2.6"
"$PY" tools/patch_fairseq_0122.py

say "installing maelm-fairseq (editable)"
# --no-deps: the dependencies above are installed with working pins; letting pip resolve fairseq's own
# metadata would downgrade hydra-core/omegaconf to versions that do not import on Python 3.11.
"${PIP[@]}" --no-deps --no-build-isolation -e .

say "checking the environment"
check_env
"$VENV/bin/fairseq-train" --help >/dev/null
inputs_hash > "$STAMP"
say "done: activate with '. $VENV/bin/activate'"
