"""Data pipelines that turn raw text, GLUE tsv folders and SQuAD json into fairseq data-bin directories."""
