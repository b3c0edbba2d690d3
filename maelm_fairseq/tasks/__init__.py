"""Registers the whole plugin with fairseq, once per process (Python imports a module once), and installs
fairseq_fixes' patches: task and criterion `maelm` (pretrain/), criterion `maelm_sentence_prediction` (glue/), task
and criterion `maelm_squad` (squad/), model `maelm` and its architectures (models/), optimizer `torch_adamw`
(optim/).

fairseq's `--user-dir maelm_fairseq` imports the package (which registers nothing), then every module of `tasks/`
and of `models/`, nothing else. The tasks live with their features, so this package is the registration alone, kept
under the name fairseq's loader reads; its one module, single_copy.py, is what that loader imports (and with it this
__init__, first). It installs the patches before any task is set up, model built or checkpoint loaded. The loader
skips a package that is already imported (by a console script of ours, or a tool that reads checkpoints): such code
imports `maelm_fairseq.tasks` itself.
"""
from . import single_copy  # noqa: F401  (first: a second copy of the plugin stops here, before registering)
from .. import fairseq_fixes, models  # noqa: F401
from ..glue import criterion as glue_criterion  # noqa: F401
from ..optim import torch_adamw  # noqa: F401  (--optimizer torch_adamw)
from ..pretrain import criterion as pretrain_criterion, task as pretrain_task  # noqa: F401
from ..squad import criterion as squad_criterion, task as squad_task  # noqa: F401

fairseq_fixes.install()  # atomic checkpoint copies, readable checkpoint errors, DDP on CPU, ... (see the module)
