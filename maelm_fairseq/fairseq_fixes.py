"""Small corrections to fairseq 0.12.2, installed by `install()` when the plugin is registered (tasks/__init__.py;
each idempotent). Every patch of fairseq the plugin makes is in this module.

1. Crash-safe checkpoint files. fairseq writes the first checkpoint of a save (e.g. `checkpoint_1_500.pt`) atomically: `torch.save` into
`<name>.tmp`, then `os.rename` (`checkpoint_utils.torch_persistent_save`). The other names of the same save,
`checkpoint_last.pt` and `checkpoint_best.pt` among them, are then made with `PathManager.copy`, which is
`shutil.copyfile` straight onto the destination: a crash (SIGKILL, OOM killer, node failure) during that copy
leaves a truncated `checkpoint_last.pt`, and the run cannot resume. Loading the plugin replaces that copy,
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
piece). `Dictionary.load` raises on them; wrapped, `Dictionary.add_from_file` tells the two formats apart by their
lines and reads the repository's with its semantics (data/fork_dictionary.py), so every task that loads a dict.txt
(maelm, fairseq's masked_lm and sentence_prediction, maelm_squad, fairseq-preprocess with the plugin loaded) gets the
repository's ids and mask index.

6. `--help` of fairseq's command-line tools with the flags of the chosen task, architecture, criterion, optimizer and
scheduler, each with its default. fairseq answers `--help` in the first of its two parses, before it adds the flags
of what the command line chose, so `fairseq-train --arch maelm_base --help` lists none of the model's flags, and no
help shows defaults. The wrapper parses once without `--help` (which adds every flag to the parser), fills the model
flags' defaults with what the `--arch` sets, and prints the help with the defaults.

7. `--bf16` on a GPU. fairseq's legacy parser turns `--bf16` into `--tpu` (options.py: "use bfloat16; implies
--tpu"), so `fairseq-train --bf16` on a CUDA machine asks torch_xla for a TPU device and dies, and fairseq's
`masked_lm` criterion takes its TPU branch (the LM head on every position). Wrapped, `--tpu` stays off unless the
command line gives it; `--bf16` then means what it says: bf16 weights and activations with fp32 master weights
(fairseq's FP16Optimizer, no loss scaling), on the GPU or, for tests, the CPU.
"""
import argparse
import contextlib
import io
import logging
import os
import shutil
import sys

import fairseq.models.distributed_fairseq_model as distributed_fairseq_model
from fairseq import options, utils
from fairseq.data import Dictionary
from fairseq.logging import progress_bar
from fairseq.file_io import PathManager
from fairseq.trainer import Trainer

from .data.fork_dictionary import REGENERATE, add_aliases, add_repository_pieces, detect_format
from .errors import CheckpointMismatch, UserInputError

logger = logging.getLogger(__name__)


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


def wrap_add_from_file(fairseq_add_from_file):
    """`Dictionary.add_from_file` that reads fairseq's dict.txt and the MAE-LM repository's (5. above)."""

    def add_from_file(self, f):
        if isinstance(f, str):
            try:
                with open(PathManager.get_local_path(f), "r", encoding="utf-8") as handle:
                    lines = handle.readlines()
            except UnicodeError:
                raise UserInputError(f"{f}: not UTF-8 text; {REGENERATE}") from None
            name = f
        else:
            lines, name = f.readlines(), getattr(f, "name", "dict.txt")
        entries = lines[self._load_meta(lines):]
        if detect_format(entries, name) == "repository":
            skipped = add_repository_pieces(self, entries)
            logger.info("%s: MAE-LM repository dictionary (pieces without counts): %d symbols; pieces skipped as "
                        "aliases of the specials or repeats: %s", name, len(self), " ".join(skipped) or "none")
        else:
            fairseq_add_from_file(self, io.StringIO("".join(lines)))
        add_aliases(self)

    add_from_file.maelm_wrapped = True
    return add_from_file


HELP_FLAGS = ("-h", "--help")
NO_DEFAULT = (None, False, argparse.SUPPRESS)  # by identity: 0 and 0.0 are defaults worth showing


class DefaultsHelpFormatter(argparse.HelpFormatter):
    def _get_help_string(self, action):
        text = action.help or ""
        if not action.option_strings or "default" in text or any(action.default is v for v in NO_DEFAULT):
            return text
        return text + " (default: %(default)s)"


def arch_defaults(argv):
    """{dest: value} the --arch on the command line fills in, or {} without one."""
    from fairseq.models import ARCH_CONFIG_REGISTRY

    picker = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    picker.add_argument("--arch", "-a")
    arch = picker.parse_known_args(argv)[0].arch
    if arch not in ARCH_CONFIG_REGISTRY:
        return {}
    values = argparse.Namespace()
    ARCH_CONFIG_REGISTRY[arch](values)
    return vars(values)


def with_full_help(parse_args_and_arch):
    """`options.parse_args_and_arch` whose `--help` lists every flag of the command line's choices (6. above)."""

    def wrapper(parser, input_args=None, parse_known=False, suppress_defaults=False, modify_parser=None):
        argv = sys.argv[1:] if input_args is None else list(input_args)
        if not any(a in HELP_FLAGS for a in argv):
            return parse_args_and_arch(parser, input_args, parse_known, suppress_defaults, modify_parser)
        rest = [a for a in argv if a not in HELP_FLAGS]
        # The flags are all on the parser once fairseq has read the choices; what it says about the rest of the
        # command line (DATA missing, no --arch: a bare RuntimeError) does not concern the help.
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                parse_args_and_arch(parser, rest, parse_known=True, modify_parser=modify_parser)
        except (SystemExit, RuntimeError):
            pass
        defaults = arch_defaults(rest)
        for action in parser._actions:
            if action.default in (None, argparse.SUPPRESS) and action.dest in defaults:
                action.default = defaults[action.dest]
        parser.formatter_class = DefaultsHelpFormatter
        parser.print_help()
        sys.exit(0)

    wrapper.maelm_wrapped = True
    return wrapper


def bf16_without_tpu(parse_args_and_arch):
    """`options.parse_args_and_arch` that keeps `--tpu` off under `--bf16` unless asked for (7. above)."""

    def wrapper(parser, input_args=None, parse_known=False, suppress_defaults=False, modify_parser=None):
        result = parse_args_and_arch(parser, input_args, parse_known, suppress_defaults, modify_parser)
        args = result[0] if parse_known else result
        argv = sys.argv[1:] if input_args is None else list(input_args)
        if getattr(args, "bf16", False) and "--tpu" not in argv:
            args.tpu = False
        return result

    wrapper.maelm_bf16_wrapped = True
    wrapper.maelm_wrapped = getattr(parse_args_and_arch, "maelm_wrapped", False)  # install() stays idempotent
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
    if not getattr(options.parse_args_and_arch, "maelm_bf16_wrapped", False):
        options.parse_args_and_arch = bf16_without_tpu(options.parse_args_and_arch)
    if distributed_fairseq_model.DistributedDataParallel is not CpuAwareDistributedDataParallel:
        distributed_fairseq_model.DistributedDataParallel = CpuAwareDistributedDataParallel
