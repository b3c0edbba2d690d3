"""Analysis: effective rank of token representations per layer (MAE-LM's Figure 1 / Lemma 2.1) and the FLOPs model.

`effective_rank` holds the rank math (also used by the `maelm` criterion's `enc_erank` collapse indicator),
`rank_cli` the `maelm-rank` command, `flops` the training-FLOPs formulas used by the benchmarks and the
reproduction's equal-FLOPs plan."""
