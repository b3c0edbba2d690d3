"""benchmarks/step_time.py runs end to end at a tiny shape: every system is timed against stock RoBERTa, decoder
depths come from the registered architectures, and `--unpad` is reported by the model's own rule."""
import json
import os
import subprocess
import sys

from helpers import REPO


def test_step_time_smoke(tmp_path):
    out = tmp_path / "st"
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "benchmarks", "step_time.py"), "--size", "reduced", "--steps", "1",
         "--warmup", "0", "--batch-size", "2", "--seq-len", "32", "--vocab", "500",
         "--systems", "maelm_mlm,threeml_self", "--compare-unpad", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {r["label"]: r for r in json.load(open(f"{out}.json"))["results"]}
    assert set(results) == {"fairseq roberta (stock)", "maelm_mlm", "maelm_mlm [unpad never]", "3ML_self p=0.5 dec2",
                            "3ML_self p=0.5 dec2 [unpad never]"}
    stock = results["fairseq roberta (stock)"]
    assert stock["theory_ratio"] == 1.0 and stock["measured_ratio"] == 1.0
    # 3ML_self's 2-layer decoder (threeml_self_base's own default) and its 50 % deletion: fewer FLOPs than RoBERTa
    assert 0.5 < results["3ML_self p=0.5 dec2"]["theory_ratio"] < 0.9
    assert results["maelm_mlm"]["theory_ratio"] == 1.0  # same encoder, no decoder
    never = results["maelm_mlm [unpad never]"]
    assert never["encoder_padding_in_matmuls"] == never["encoder_padding_fraction"]
    assert os.path.isfile(f"{out}.md") and os.path.isfile(f"{out}.png")
