"""Small corrections to fairseq 0.12.2, installed when the plugin is imported (each idempotent).

1. Crash-safe checkpoint files. fairseq writes the first checkpoint of a save (e.g. `checkpoint_1_500.pt`) atomically: `torch.save` into
`<name>.tmp`, then `os.rename` (`checkpoint_utils.torch_persistent_save`). The other names of the same save,
`checkpoint_last.pt` and `checkpoint_best.pt` among them, are then made with `PathManager.copy`, which is
`shutil.copyfile` straight onto the destination: a crash (SIGKILL, OOM killer, node failure) during that copy
leaves a truncated `checkpoint_last.pt`, and the run cannot resume. Importing the plugin replaces that copy,
for local paths, by copy-to-`<dst>.tmp` + fsync + `os.replace`, so every checkpoint name always holds either
the previous complete file or the new complete one.

2. Readable checkpoint-mismatch errors. `Trainer.load_checkpoint` turns every exception of the model's `load_state_dict` into "Cannot load model
parameters from checkpoint X; please ensure that the architectures match.", hiding the plugin's precise
UserInputError (vocabulary or architecture mismatch) in the middle of a chained traceback. The wrapper below
re-raises it alone, a CheckpointMismatch naming the checkpoint's real path and the task's dict.txt, so it is the
last line fairseq-train prints.

3. `--ddp-backend pytorch_ddp` on CPU (gloo). fairseq always passes `device_ids=[device_id]` to torch's
DistributedDataParallel, which torch refuses for a module on the CPU ("device_ids and output_device arguments
only work with single-device/multiple-device GPU modules or CPU modules"). For CPU modules only, the ids are
dropped (None is what torch expects there); GPU training is untouched.

4. Curves that were asked for. fairseq only logs a warning when `--tensorboard-logdir` finds neither
`torch.utils.tensorboard` nor tensorboardX, or `--wandb-project` finds no wandb, and the run then ends without the
curves its user asked for. The progress bar, built before the first update, refuses instead, in one line.

5. dict.txt files written by the MAE-LM repository (pieces without counts, aliases of the specials, a `[MASK]`
piece). `Dictionary.load` raises on them; wrapped, it reads them with the repository's semantics, so every task
gets the repository's ids and mask index (data/fork_dictionary.py).

6. `--help` that lists the flags of the chosen task, architecture, criterion, ... with their defaults
(full_help.py; fairseq answers `--help` before it has added them).
"""
import os
import shutil

import fairseq.models.distributed_fairseq_model as distributed_fairseq_model
from fairseq import options, utils
from fairseq.data import Dictionary
from fairseq.logging import progress_bar
from fairseq.file_io import PathManager
from fairseq.trainer import Trainer

from .data.fork_dictionary import wrap_add_from_file
from .errors import CheckpointMismatch, UserInputError
from .full_help import with_full_help


_fairseq_copy = PathManager.copy


def atomic_copy(src_path: str, dst_path: str, overwrite: bool = False) -> bool:
    if PathManager.path_requires_pathmanager(src_path) or PathManager.path_requires_pathmanager(dst_path):
        return _fairseq_copy(src_path, dst_path, overwrite)  # remote stores: fairseq's own behaviour
    if not overwrite and os.path.exists(dst_path):
        return False
    tmp = dst_path + ".tmp"
    try:
        with open(src_path, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 16 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, dst_path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return True


def _dictionary_path(task):
    data = getattr(getattr(task, "cfg", None), "data", None)
    return os.path.join(utils.split_paths(data)[0], "dict.txt") if data else CheckpointMismatch.UNNAMED[1]


def _load_checkpoint_with_readable_errors(load_checkpoint):
    def wrapper(self, filename, *args, **kwargs):
        try:
            return load_checkpoint(self, filename, *args, **kwargs)
        except Exception as e:
            cause = e if isinstance(e, UserInputError) else e.__context__
            if isinstance(cause, CheckpointMismatch):
                raise cause.naming(filename, _dictionary_path(self.task)) from None
            if isinstance(cause, UserInputError):
                raise cause from None
            raise

    wrapper.maelm_wrapped = True
    return wrapper


class CpuAwareDistributedDataParallel(distributed_fairseq_model.DistributedDataParallel):
    def __init__(self, module, device_ids=None, output_device=None, **kwargs):
        if all(p.device.type == "cpu" for p in module.parameters()):
            device_ids = output_device = None
        super().__init__(module, device_ids=device_ids, output_device=output_device, **kwargs)


def _progress_bar_refusing_missing_loggers(build):
    def wrapper(*args, tensorboard_logdir=None, wandb_project=None, **kwargs):
        if tensorboard_logdir and progress_bar.SummaryWriter is None:
            raise UserInputError(f"--tensorboard-logdir {tensorboard_logdir}: no TensorBoard writer is installed; "
                                 f"pip install tensorboardX (bash install.sh does), or drop --tensorboard-logdir")
        if wandb_project and progress_bar.wandb is None:
            raise UserInputError(f"--wandb-project {wandb_project}: wandb is not installed; pip install wandb and "
                                 f"run `wandb login`, or drop --wandb-project")
        return build(*args, tensorboard_logdir=tensorboard_logdir, wandb_project=wandb_project, **kwargs)

    wrapper.maelm_wrapped = True
    return wrapper


def install():
    if PathManager.copy is not atomic_copy:
        PathManager.copy = staticmethod(atomic_copy)
    if not getattr(Trainer.load_checkpoint, "maelm_wrapped", False):
        Trainer.load_checkpoint = _load_checkpoint_with_readable_errors(Trainer.load_checkpoint)
    if not getattr(progress_bar.progress_bar, "maelm_wrapped", False):
        progress_bar.progress_bar = _progress_bar_refusing_missing_loggers(progress_bar.progress_bar)
    if not getattr(Dictionary.add_from_file, "maelm_wrapped", False):
        Dictionary.add_from_file = wrap_add_from_file(Dictionary.add_from_file)
    if not getattr(options.parse_args_and_arch, "maelm_wrapped", False):
        options.parse_args_and_arch = with_full_help(options.parse_args_and_arch)
    if distributed_fairseq_model.DistributedDataParallel is not CpuAwareDistributedDataParallel:
        distributed_fairseq_model.DistributedDataParallel = CpuAwareDistributedDataParallel
