"""Labelled text of any shape (CSV, TSV, JSONL, a folder per label) -> a fairseq sentence_prediction data-bin."""
