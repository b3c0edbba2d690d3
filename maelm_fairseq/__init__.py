"""maelm-fairseq: MAE-LM / 3ML pretraining as a fairseq plugin.

Importing the package registers task `maelm`, model `maelm` (+ architectures) and criterion `maelm` exactly once,
whether it arrives through `--user-dir maelm_fairseq`, `common.user_dir` or a plain `import maelm_fairseq`.
"""
from . import criterions, models, tasks  # noqa: F401
