#!/usr/bin/env bash
# Fills a wheelhouse for an offline install on the lent GPU machine (no network there; its python3 already has
# torch, numpy 2, transformers, pytest, ...): every wheel install.sh needs that that machine lacks.
#   tools/gpu_wheelhouse.sh [DIR] [--python-version 3.12] [--build-python PATH]
#     DIR               where the wheels go (default .whl/, git-ignored; carry it to the device)
#     --python-version  the target CPython, X.Y (default 3.12: the GPU machine's python3)
#     --build-python    a CPython X.Y here to build the sdist-only packages with
#                       (default: pythonX.Y, else pyenv's /root/.pyenv/versions/X.Y.*/bin/pythonX.Y)
# Run it here, where PyPI is reachable; then on the device: PYTHON=python3 WHEELHOUSE=.whl bash install.sh
# (benchmarks/README.md, "Running it on the lent GPU machine"). Never installs torch.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "[wheelhouse] error: $*" >&2; exit 2; }
say() { printf '[wheelhouse] %s\n' "$*"; }

DIR=""
PYVER="3.12"
BUILD_PY=""
while [ $# -gt 0 ]; do
    case "$1" in
        --python-version) [ $# -ge 2 ] || die "--python-version needs a value, e.g. 3.12"; PYVER="$2"; shift ;;
        --build-python) [ $# -ge 2 ] || die "--build-python needs a path"; BUILD_PY="$2"; shift ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "$1: unknown option; see --help" ;;
        *) [ -z "$DIR" ] || die "$1: only one DIR may be given"; DIR="$1" ;;
    esac
    shift
done
DIR="${DIR:-.whl}"
[[ "$PYVER" =~ ^3\.[0-9]+$ ]] || die "--python-version $PYVER: expected X.Y, e.g. 3.12"

# Pure or manylinux wheels on PyPI: pins as install.sh has them, plus the dependencies the GPU machine lacks
# (antlr4 for hydra-core/omegaconf, pycparser for cffi). What it has is in the device's KINDS.md package list.
BINARY=("hydra-core==1.3.2" "omegaconf==2.3.0" "bitarray<3" "cffi" "pycparser" "sacremoses==0.2.0"
        "tensorboardX>=2.6,<3")
# sdist-only on PyPI (antlr4 4.9.x has no wheel): built here for the target CPython.
BUILT=("fairseq==0.12.2" "fastbpe==0.1.0" "antlr4-python3-runtime==4.9.3")
# The fastBPE sdist too: install.sh compiles its learner (a C++ CLI, not in the wheel) from it.
SDIST=("fastbpe==0.1.0")

if [ -z "$BUILD_PY" ]; then
    if command -v "python$PYVER" >/dev/null && "python$PYVER" -c '' 2>/dev/null; then
        BUILD_PY="python$PYVER"
    else
        BUILD_PY="$(ls -d /root/.pyenv/versions/"$PYVER".*/bin/python"$PYVER" 2>/dev/null | sort -V | tail -1 || true)"
    fi
fi
[ -n "$BUILD_PY" ] || die "no python$PYVER found here to build fairseq/fastBPE with; pass --build-python PATH"
got="$("$BUILD_PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" \
    || die "--build-python $BUILD_PY does not run"
[ "$got" = "$PYVER" ] || die "--build-python $BUILD_PY is Python $got, not $PYVER"

mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

say "downloading wheels for CPython $PYVER manylinux x86_64 into $DIR"
# pip matches each manylinux_2_N exactly, so name the usual ones (device README).
PLATFORMS=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    PLATFORMS+=(--platform "$p")
done
python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version "$PYVER" --implementation cp "${PLATFORMS[@]}" -d "$DIR" "${BINARY[@]}"
python3 -m pip download -q --disable-pip-version-check --no-deps --no-binary fastbpe -d "$DIR" "${SDIST[@]}"

# Build where torch is NOT importable: fairseq's setup.py adds C++ torch extensions whose sources its sdist lacks
# when it can import torch. Against the oldest numpy 2 headers: numpy's C ABI is forward compatible, so the Cython
# extensions then import under any numpy 2.x (the device has 2.5). No build isolation: fastBPE's bundled Cython
# output is too old, it must re-cythonize with our Cython.
say "building ${BUILT[*]} with $BUILD_PY (venv with setuptools, wheel, cython, numpy 2.0; no torch)"
"$BUILD_PY" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check setuptools wheel cython "numpy~=2.0.0"
if "$tmp/venv/bin/python" -c 'import torch' 2>/dev/null; then die "torch is importable in the build venv"; fi
"$tmp/venv/bin/python" -m pip wheel -q --disable-pip-version-check --no-cache-dir --no-deps --no-build-isolation \
    -w "$DIR" "${BUILT[@]}"

# Two versions of one package would stop the offline install: refuse them here.
dupes="$(cd "$DIR" && ls -- *.whl | cut -d- -f1 | tr 'A-Z-' 'a-z_' | sort | uniq -d)"
[ -z "$dupes" ] || die "$DIR holds more than one version of: $dupes (empty it and run again)"

# The compiled modules must load and run under the numpy 2 they were built with and under the newest one (the build
# venv's; no torch there). Imported by path from the wheels; token_block_utils_fast imports torch without using it,
# so a stub stands in.
check_extensions() {
    (cd "$tmp" && "$tmp/venv/bin/python" - <<'PY')
import glob, importlib.util, sys, types
import numpy as np

def load(name, pattern):
    path, = glob.glob(pattern)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

sys.modules["torch"] = types.ModuleType("torch")
data_utils_fast = load("data_utils_fast", "x/fairseq/data/data_utils_fast.*.so")
token_block_utils_fast = load("token_block_utils_fast", "x/fairseq/data/token_block_utils_fast.*.so")
fastBPE = load("fastBPE", "x/fastBPE.*.so")
batches = data_utils_fast.batch_by_size_vec(np.arange(4, dtype=np.int64), np.full(4, 3, dtype=np.int64), 6, 0, 1)
slices = token_block_utils_fast._get_slice_indices_fast(np.array([3, 3], dtype=np.int64), "none", 2, 0)
assert [list(b) for b in batches] == [[0, 1], [2, 3]] and slices.tolist() == [[0, 2], [2, 4], [4, 6]], (batches, slices)
print(f"[wheelhouse] data_utils_fast, token_block_utils_fast, fastBPE load and run under numpy {np.__version__}")
PY
}
(cd "$tmp" && for whl in "$DIR"/fairseq-*.whl "$DIR"/[Ff]ast[Bb][Pp][Ee]-*.whl; do "$tmp/venv/bin/python" -m zipfile -e "$whl" x; done)
check_extensions
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade "numpy>=2"
check_extensions

total_kib="$(du -sk "$DIR" | cut -f1)"
say "$(ls "$DIR" | wc -l) files, $((total_kib / 1024)) MiB in $DIR (the device call carries at most 64 MiB in all);" \
    "largest: $(ls -S "$DIR" | head -1) ($(( $(stat -c %s "$DIR/$(ls -S "$DIR" | head -1)") / 1024 / 1024 )) MiB)"
if [ "$total_kib" -gt $((48 * 1024)) ]; then
    say "WARNING: over 48 MiB: with the working tree this may not fit the device call's 64 MiB"
fi
