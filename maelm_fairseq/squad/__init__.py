"""SQuAD v1.1/v2.0 fine-tuning: task and criterion `maelm_squad` (task.py, criterion.py; registered by
tasks/__init__.py), the span head, the feature file and its reader (shared with preprocess/squad), answers and the
official metrics, and `maelm-squad-predict` (predict_cli.py). The package itself imports nothing, so preprocess/squad
reads features without loading fairseq."""
