"""benchmarks/step_time.py runs end to end at a tiny shape: our systems (through fairseq-train's Trainer.train_step)
and the Hugging Face peers on the same rows, both row kinds, the fairseq-train check on full blocks, FLOPs counted for
every system. Decoder depths come from the registered architectures and `--unpad` is reported by the model's own
rule. Nothing about speed is asserted."""
import json
import os
import subprocess
import sys

from helpers import REPO


def test_step_time_smoke(tmp_path):
    out = tmp_path / "st"
    proc = subprocess.run(
        [sys.executable, os.path.join(REPO, "benchmarks", "step_time.py"), "--size", "tiny", "--steps", "1",
         "--warmup", "0",
         "--systems", "maelm_mlm,threeml_self", "--peers", "modernbert,roberta-hf", "--compare-unpad",
         "--sample-break-mode", "none,complete_doc", "--out", str(out)],
        capture_output=True, text=True, timeout=600, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    tables = json.load(open(f"{out}.json"))["results"]
    assert set(tables) == {"none", "complete_doc"}
    for row_kind, rows in tables.items():
        results = {r["label"]: r for r in rows}
        assert set(results) == {"maelm_mlm", "maelm_mlm [unpad never]", "3ML_self p=0.5 dec2",
                                "3ML_self p=0.5 dec2 [unpad never]", "HF ModernBERT (sparse pred.)", "HF RoBERTa"}
        modernbert = results["HF ModernBERT (sparse pred.)"]
        assert modernbert["step_ratio"] == 1.0 and modernbert["reference"] == modernbert["label"]
        assert all(r["counted_flops_per_step"] > 0 and r["ms_per_gflop"] > 0 for r in rows)
        never = results["maelm_mlm [unpad never]"]
        assert never["encoder_padding_in_matmuls"] == never["encoder_padding_fraction"]
        threeml, mlm = results["3ML_self p=0.5 dec2"], results["maelm_mlm"]
        if row_kind == "none":
            # full blocks: counted FLOPs are the formula's (the LM head at the predicted positions only), and our
            # rows are timed next to fairseq-train's own loop
            assert mlm["counted_flops_per_step"] == mlm["formula_flops_per_step"]
            assert threeml["counted_flops_per_step"] == threeml["formula_flops_per_step"]
            assert "fairseq_train_step_s" in mlm and "fairseq_train_step_s" in threeml
            assert "fairseq_train_step_s" not in never and "fairseq_train_step_s" not in modernbert
            # RoBERTa's head runs on every position in transformers: more FLOPs than our MLM at the same shape
            assert results["HF RoBERTa"]["counted_flops_per_step"] > mlm["counted_flops_per_step"]
    assert os.path.isfile(f"{out}.md") and os.path.isfile(f"{out}.png")
