"""Representation analysis (MAE-LM's Figure 1 / Lemma 2.1): effective rank of token representations per layer.

`effective_rank` holds the math, `rank_cli` the `maelm-rank` command. Not imported by the plugin itself."""
