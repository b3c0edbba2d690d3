"""Console scripts that run fairseq's own trainers with this plugin loaded from any directory.

They add `--user-dir <installed maelm_fairseq>` (or `common.user_dir=` for hydra) unless the user gave one, so
worker processes spawned by fairseq's distributed launcher import the plugin too. A `UserInputError` (bad path,
file, flag or checkpoint) is printed as one line, `error: <message>`, with exit status 2 instead of a traceback.
`maelm-train --help` lists the flags of MAE-LM pretraining (task, criterion, architecture maelm_base) with their
defaults, unless the command line names another task, criterion or architecture.
"""
import os
import sys

# Registers the plugin at import: fairseq's --user-dir loader skips the package, imported by then (this module is in
# it). Also in the workers fairseq spawns for distributed training: they re-import the console script, so this
# module, before fairseq's loader runs.
from . import tasks  # noqa: F401

PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))
# what `maelm-train --help` describes when the command line names none of them (fairseq's default is translation)
HELP_CHOICES = {"--task": "maelm", "--criterion": "maelm", "--arch": "maelm_base"}


def _given_user_dirs(argv):
    dirs = [a.split("=", 1)[1] for a in argv if a.startswith("--user-dir=")]
    dirs += [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--user-dir"]
    return dirs


def _with_user_dir(argv):
    """Add our --user-dir; one the user gave must be this very package (this script has already imported it)."""
    from .errors import UserInputError

    for path in _given_user_dirs(argv):
        if os.path.realpath(path) != os.path.realpath(PLUGIN_DIR):
            raise UserInputError(f"--user-dir {path}: maelm-train already loads the plugin from {PLUGIN_DIR}; "
                                 f"drop --user-dir, or run that copy with fairseq-train --user-dir {path}")
    if _given_user_dirs(argv):
        return argv
    return ["--user-dir", PLUGIN_DIR] + argv


def _run(main):
    """Run a fairseq entry point; our own input errors become `error: ...` and exit status 2."""
    from .errors import console_main

    return console_main(main)()


def _help_choices(argv):
    """For --help: MAE-LM pretraining's task, criterion and architecture where the command line names none."""
    named = {"--arch" if a == "-a" else a.split("=", 1)[0] for a in argv}
    return [x for flag, value in HELP_CHOICES.items() if flag not in named for x in (flag, value)]


def _describe(parser):
    parser.description = ("fairseq-train with the maelm plugin loaded. The flags listed are those of the task, "
                          "criterion and architecture on the command line (default here: "
                          + " ".join(f"{k} {v}" for k, v in HELP_CHOICES.items()) + ").")


def run_train(argv):
    """`maelm-train ARGS` in-process; returns the exit status (used by tests and by `train`)."""
    from fairseq_cli.train import cli_main

    def main():
        args = _with_user_dir(list(argv))
        if any(a in ("-h", "--help") for a in args):
            sys.argv = ["maelm-train"] + args + _help_choices(args)
            cli_main(modify_parser=_describe)
            return
        sys.argv = ["maelm-train"] + args
        cli_main()

    return _run(main)


def _exit(status):
    """Leave without interpreter teardown: fairseq's background data-buffer thread may still be inside torch then,
    which aborts the process ("terminate called without an active exception", exit 134) after a good run."""
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def train():
    _exit(run_train(sys.argv[1:]))


def hydra_train():
    from fairseq_cli.hydra_train import cli_main
    if not any(a.startswith(("common.user_dir=", "+common.user_dir=")) for a in sys.argv[1:]):
        sys.argv.append(f"common.user_dir={PLUGIN_DIR}")
    _exit(_run(cli_main))
