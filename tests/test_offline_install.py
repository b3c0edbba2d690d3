"""install.sh's offline mode (WHEELHOUSE=DIR, for the GPU machine that reaches no index): every pip call it makes
gets --no-index and the find-links folder, numpy 2 is kept, fastBPE's CLI is built from the carried sdist; without
WHEELHOUSE the calls are today's. Run against a stub python and g++ that log their calls (no network, < 1 s);
the real offline install is proved by hand (benchmarks/README.md, "One GPU check")."""
import io
import os
import stat
import subprocess
import tarfile

from helpers import REPO

# Stands in for python (the base interpreter and the venv's): logs each call and answers install.sh's checks as a
# fresh machine with torch would (fairseq and fastBPE not yet installed).
STUB_PYTHON = r"""#!/usr/bin/env bash
printf '%s\n' "$*" >> "$STUB_LOG"
if [ "$1 $2" = "-m venv" ]; then
    v="${@: -1}"; mkdir -p "$v/bin"; cp "$0" "$v/bin/python"
    printf '#!/bin/sh\n' > "$v/bin/fairseq-train"; chmod +x "$v/bin/fairseq-train"; exit 0
fi
if [ "$1 $2 $3" = "-m pip download" ]; then
    prev=""; for a in "$@"; do [ "$prev" = -d ] && cp "$STUB_SDIST" "$a/"; prev="$a"; done; exit 0
fi
case "$2" in
    *'version_info[:2]'*) echo "$STUB_PYVER" ;;
    *'print(torch.__version__)'*) echo 2.11.0 ;;
    *'import importlib.metadata'*|*'import fastBPE'*) exit 1 ;;
esac
if [ "$1" = - ]; then cat > /dev/null; fi
exit 0
"""
STUB_GXX = r"""#!/usr/bin/env bash
printf 'g++ %s\n' "$*" >> "$STUB_LOG"
prev=""; for a in "$@"; do [ "$prev" = -o ] && : > "$a" && chmod +x "$a"; prev="$a"; done
"""


def executable(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def fake_sdist(path):
    """A stand-in for fastBPE's sdist: only the CLI's source, as install.sh looks for it."""
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("fastBPE-0.1.0/fastBPE/main.cc")
        source = b"int main() {}\n"
        info.size = len(source)
        tar.addfile(info, io.BytesIO(source))
    return path


def run_install(tmp_path, wheelhouse=None):
    """install.sh with the stubs, into a fresh venv folder; returns (exit code, output, logged calls)."""
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    python = executable(stubs / "python", STUB_PYTHON)
    executable(stubs / "g++", STUB_GXX)
    log = tmp_path / f"calls-{bool(wheelhouse)}.log"
    env = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}", "PYTHON": str(python),
           "VENV": str(tmp_path / f"venv-{bool(wheelhouse)}"), "STUB_LOG": str(log), "STUB_PYVER": "3.12",
           "STUB_SDIST": str(fake_sdist(tmp_path / "fastBPE-0.1.0.tar.gz"))}
    env.pop("WHEELHOUSE", None)
    if wheelhouse:
        env["WHEELHOUSE"] = str(wheelhouse)
    proc = subprocess.run(["bash", "install.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    return proc.returncode, proc.stdout + proc.stderr, log.read_text().splitlines() if log.exists() else []


def make_wheelhouse(tmp_path):
    whl = tmp_path / "whl"
    whl.mkdir()
    (whl / "fairseq-0.12.2-cp312-cp312-linux_x86_64.whl").write_text("")
    fake_sdist(whl / "fastBPE-0.1.0.tar.gz")
    return whl


def test_wheelhouse_mode_gives_every_pip_call_no_index_and_the_folder(tmp_path):
    whl = make_wheelhouse(tmp_path)
    code, out, calls = run_install(tmp_path, whl)
    assert code == 0, out
    pip_calls = [c for c in calls if c.startswith("-m pip")]
    assert len(pip_calls) == 4, pip_calls  # fairseq, the dependencies, fastBPE, maelm-fairseq
    for call in pip_calls:
        assert call.startswith("-m pip install") and "--no-index" in call and f"--find-links {whl}" in call, call
    deps = next(c for c in pip_calls if "hydra-core==1.3.2" in c)
    assert "numpy>=2" in deps.split() and "numpy<2" not in deps
    assert any(c.startswith("g++") and "main.cc" in c for c in calls), calls  # the CLI, from the carried sdist
    assert f"installing fairseq==0.12.2 (wheel from {whl}, --no-deps)" in out


def test_without_wheelhouse_the_calls_are_unchanged(tmp_path):
    code, out, calls = run_install(tmp_path)
    assert code == 0, out
    pip_calls = [c for c in calls if c.startswith("-m pip")]
    assert not any("--no-index" in c or "--find-links" in c for c in pip_calls), pip_calls
    deps = next(c for c in pip_calls if "hydra-core==1.3.2" in c)
    assert "numpy<2" in deps.split()
    assert any(c.startswith("-m pip download") and "fastbpe==0.1.0" in c for c in pip_calls), pip_calls
    assert "installing fairseq==0.12.2 (sdist, --no-deps)" in out


def test_wheelhouse_errors_are_one_line(tmp_path):
    code, out, _ = run_install(tmp_path, tmp_path / "missing")
    assert code == 1 and out.strip().count("\n") == 0 and "is no directory" in out, out
    (tmp_path / "empty").mkdir()
    code, out, _ = run_install(tmp_path, tmp_path / "empty")
    assert code == 1 and "no fairseq wheel for Python 3.12" in out and "--python-version 3.12" in out, out


def test_wheelhouse_script_help_and_bad_option():
    script = os.path.join(REPO, "tools", "gpu_wheelhouse.sh")
    proc = subprocess.run(["bash", script, "--help"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and "--python-version" in proc.stdout and "WHEELHOUSE=.whl" in proc.stdout
    proc = subprocess.run(["bash", script, "--python-version", "312"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and proc.stderr.strip() == \
        "[wheelhouse] error: --python-version 312: expected X.Y, e.g. 3.12"
