"""Console scripts that run fairseq's own trainers with this plugin loaded from any directory.

They add `--user-dir <installed maelm_fairseq>` (or `common.user_dir=` for hydra) unless the user gave one, so
worker processes spawned by fairseq's distributed launcher import the plugin too.
"""
import os
import sys

PLUGIN_DIR = os.path.dirname(os.path.abspath(__file__))


def _with_user_dir(argv):
    if any(a == "--user-dir" or a.startswith("--user-dir=") for a in argv):
        return argv
    return ["--user-dir", PLUGIN_DIR] + argv


def train():
    from fairseq_cli.train import cli_main
    sys.argv = [sys.argv[0]] + _with_user_dir(sys.argv[1:])
    cli_main()


def hydra_train():
    from fairseq_cli.hydra_train import cli_main
    if not any(a.startswith(("common.user_dir=", "+common.user_dir=")) for a in sys.argv[1:]):
        sys.argv.append(f"common.user_dir={PLUGIN_DIR}")
    cli_main()
