"""`--help` of fairseq's command-line tools with the flags of the chosen task, architecture, criterion, optimizer and
scheduler, each with its default.

fairseq 0.12.2 answers `--help` in the first of its two parses, before it adds the flags of what the command line
chose, so `fairseq-train --arch maelm_base --help` lists none of the model's flags, and no help shows defaults. The
wrapper parses once without `--help` (which adds every flag to the parser), fills the model flags' defaults with
what the `--arch` sets, and prints the help with the defaults.
"""
import argparse
import contextlib
import io
import sys

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
