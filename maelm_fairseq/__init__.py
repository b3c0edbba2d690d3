"""maelm-fairseq: MAE-LM / 3ML pretraining as a fairseq plugin.

Importing the package does nothing: its error type (errors.py) and data readers load without torch or fairseq, so a
preprocessing command answers `--help` or a bad path at once. The plugin is registered with fairseq (tasks `maelm`
and `maelm_squad`, model `maelm` and its architectures, the criterions, fairseq_fixes' patches) by importing
`maelm_fairseq.tasks`, which is what `--user-dir maelm_fairseq` and `common.user_dir` do; see tasks/__init__.py.
fairseq's loader skips a package already imported: a program that imported `maelm_fairseq` before handing fairseq
`--user-dir` imports `maelm_fairseq.tasks` itself.
"""
