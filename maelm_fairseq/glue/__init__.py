"""GLUE fine-tuning, through fairseq's own `sentence_prediction` task: criterion `maelm_sentence_prediction`
(criterion.py, registered by tasks/__init__.py), the metrics GLUE reports beyond accuracy (metrics.py, plain Python)
and `maelm-glue-predict`, the benchmark's submission files (predict_cli.py)."""
