"""Configuration of a RoBERTa encoder with MAE-LM's relative-position bias (exported by maelm-fairseq)."""
from huggingface_hub.dataclasses import strict
from transformers import RobertaConfig


@strict
class MaelmConfig(RobertaConfig):
    """RoBERTa's configuration plus the bias table's shape: `rel_pos_bins` buckets, saturating at `max_rel_pos`."""

    model_type = "maelm"

    rel_pos_bins: int = 64
    max_rel_pos: int = 128


__all__ = ["MaelmConfig"]
