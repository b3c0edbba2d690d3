"""examples/pretrain/: the scripts and YAMLs are the generated views of their recipes (examples/recipes.py) and up to
date; every YAML composes against fairseq's config schema and builds its model (tiny shapes); every script's command
parses with fairseq's own parser, carries every flag of its recipe and agrees with its YAML; two scripts and one YAML
really train one update on CPU (DRY_RUN=1 / tiny overrides)."""
import glob
import os
import shlex
import subprocess

import pytest
from omegaconf import OmegaConf

from examples.recipes import PAPER_ROWS, TINY
from helpers import BIN, REPO, run_cli

HERE = os.path.join(REPO, "examples", "pretrain")
CONFIG_DIR = os.path.join(HERE, "config")
NAMES = sorted(os.path.basename(p)[:-5] for p in glob.glob(os.path.join(CONFIG_DIR, "*.yaml")))
SCRIPTS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(HERE, "*.sh")) if "common" not in p)
ROWS = {row.name: row for row in PAPER_ROWS}
TINY_MODEL = [f"{key}={value}" for key, value in TINY.keywords().items()]


def test_every_paper_row_has_a_script_and_a_yaml_and_they_are_generated():
    assert set(NAMES) == set(SCRIPTS) == set(ROWS) and len(ROWS) == 12
    proc = subprocess.run([os.path.join(BIN, "python"), os.path.join(HERE, "generate.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def composed(word_data_bin):
    """name -> config composed by hydra from the YAML (+ the data path), with fairseq's defaults added."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from fairseq.dataclass.initialize import add_defaults, hydra_init

    import maelm_fairseq.tasks  # noqa: F401  (registers task/model for add_defaults)

    from hydra.version import VersionBase

    GlobalHydra.instance().clear()
    # version_base is process-global in hydra: left at 1.3 it makes fairseq's own (legacy) hydra.experimental calls
    # raise ImportError in every later in-process fairseq run of this pytest session.
    saved_base = VersionBase.instance().getbase()
    out = {}
    try:
        with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
            for name in NAMES:
                hydra_init(name)  # as fairseq-hydra-train: FairseqConfig is the schema of the config named `name`
                cfg = compose(config_name=name, overrides=[f"task.data={word_data_bin}"]
                              + [f"++model.{kv}" for kv in TINY_MODEL])
                add_defaults(cfg)
                out[name] = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True, enum_to_str=True))
    finally:
        GlobalHydra.instance().clear()
        VersionBase.instance().version_base = saved_base
    return out


@pytest.mark.parametrize("name", sorted(ROWS))
def test_yaml_matches_fairseq_schema_and_builds_its_model(composed, name):
    from fairseq import tasks
    from fairseq.dataclass.configs import FairseqConfig
    from fairseq.optim.adam import FairseqAdamConfig
    from fairseq.optim.lr_scheduler.polynomial_decay_schedule import PolynomialDecayLRScheduleConfig

    from maelm_fairseq.pretrain.task import MaelmConfig

    cfg = composed[name]
    schema = OmegaConf.structured(FairseqConfig)
    for group in ("common", "checkpoint", "dataset", "distributed_training", "optimization"):
        OmegaConf.merge(schema[group], cfg[group])  # unknown keys or wrong types raise
    OmegaConf.merge(OmegaConf.structured(MaelmConfig), cfg.task)
    OmegaConf.merge(OmegaConf.structured(FairseqAdamConfig), cfg.optimizer)
    OmegaConf.merge(OmegaConf.structured(PolynomialDecayLRScheduleConfig), cfg.lr_scheduler)
    criterion = cfg.criterion if isinstance(cfg.criterion, str) else cfg.criterion._name
    assert criterion == "maelm" and cfg.task._name == "maelm"
    assert cfg.task.tokens_per_sample == 512 and cfg.common.fp16
    three_ml = name.startswith("threeml")
    assert cfg.task.mask_prob == (0.5 if three_ml else 0.15)
    if name.startswith(("maelm", "mlm")):  # the MAE-LM repository's run_pretrain.sh
        assert (cfg.optimization.clip_norm, cfg.common.fp16_init_scale, cfg.common.fp16_scale_window) == (2.0, 4, 256)
        assert cfg.task.sample_break_mode == "complete_doc" and cfg.dataset.max_tokens == 16384
        assert cfg.optimization.lr[0] == (1e-4 if "large" in name else 2e-4)
    task = tasks.setup_task(cfg.task)
    model = task.build_model(cfg.model)
    encoder = model.encoder
    assert (encoder.decoder is not None) == (name.startswith(("maelm", "threeml")))
    assert (encoder.sentence_encoder.rel_pos_bias is not None) == name.startswith(("maelm", "mlm"))
    if "cross" in name:
        assert encoder.decoder.layers[0].encoder_attn is not None


def echo_command(name, *extra, env=None):
    out = subprocess.run(["bash", os.path.join(HERE, name + ".sh"), "DATA", "SAVE", *extra], capture_output=True,
                         text=True, env={**os.environ, "ECHO": "1", "NUM_GPUS": "8", **(env or {})}, check=True)
    return shlex.split(out.stdout)


@pytest.mark.parametrize("name", sorted(ROWS))
def test_script_parses_with_fairseq_and_agrees_with_its_yaml(composed, name):
    from fairseq import options

    argv = echo_command(name, "--lr", "1e-5")
    assert os.path.basename(argv[0]) == "maelm-train" and argv[1:4] == ["DATA", "--save-dir", "SAVE"]
    recipe = argv[4:-2]  # less the user's --lr
    for flag, value in ROWS[name].all_flags.items():  # the script is a view of its recipe: every flag, its value
        assert recipe.count(flag) == 1, flag
        if value is not True:
            assert recipe[recipe.index(flag) + 1] == str(value), flag
    parser = options.get_training_parser()
    args = options.parse_args_and_arch(parser, argv[1:] + ["--user-dir", os.path.join(REPO, "maelm_fairseq")])
    assert args.lr == [1e-5]  # the user's arguments come last and win
    cfg = composed[name]
    assert args.arch == cfg.model._name and args.task == "maelm" and args.criterion == "maelm"
    for key, value in (("mask_prob", cfg.task.mask_prob), ("sample_break_mode", cfg.task.sample_break_mode),
                       ("leave_unmasked_prob", cfg.task.leave_unmasked_prob),
                       ("random_token_prob", cfg.task.random_token_prob), ("clip_norm", cfg.optimization.clip_norm),
                       ("max_update", cfg.optimization.max_update), ("seed", cfg.common.seed),
                       ("warmup_updates", cfg.lr_scheduler.warmup_updates),
                       ("total_num_update", cfg.lr_scheduler.total_num_update),
                       ("fp16_init_scale", cfg.common.fp16_init_scale), ("update_freq", cfg.optimization.update_freq)):
        got = getattr(args, key)
        if isinstance(value, (int, float)):  # argparse keeps some numbers as strings (total_num_update)
            got, value = float(got), float(value)
        assert got == value, key
    for key in ("decoder_layers", "rel_pos"):
        if key in cfg.model:
            assert getattr(args, key) == cfg.model[key]
    per_gpu = args.max_tokens // 512 if args.max_tokens else args.batch_size
    assert per_gpu * 8 * args.update_freq[0] == 2048  # sequences per update on NUM_GPUS=8
    assert echo_command(name, env={"NUM_GPUS": "2"})[argv.index("--update-freq") + 1] == str(
        2048 // (2 * per_gpu))


@pytest.mark.parametrize("name", ["maelm_base", "threeml_cross_large"])
def test_script_dry_run_trains_one_update(word_data_bin, tmp_path, name):
    proc = subprocess.run(["bash", os.path.join(HERE, name + ".sh"), str(word_data_bin), str(tmp_path)],
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "DRY_RUN": "1", "MAELM_TRAIN": os.path.join(BIN, "maelm-train"),
                               "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0 and "done training" in proc.stdout + proc.stderr, (proc.stdout + proc.stderr)[-4000:]


def test_yaml_trains_one_update_with_maelm_hydra_train(word_data_bin, tmp_path):
    overrides = [f"task.data={word_data_bin}", "task.tokens_per_sample=64", "common.fp16=false", "common.cpu=true",
                 "common.log_format=simple", "common.log_interval=1", "optimization.max_update=1",
                 "optimization.update_freq=[1]", "lr_scheduler.total_num_update=1", "lr_scheduler.warmup_updates=0",
                 "dataset.batch_size=8", "dataset.num_workers=0", "dataset.disable_validation=true",
                 "dataset.required_batch_size_multiple=1", "checkpoint.no_save=true", f"checkpoint.save_dir={tmp_path}",
                 "hydra.run.dir=" + str(tmp_path)] + [f"++model.{kv}" for kv in TINY_MODEL]
    _, out = run_cli(["maelm-hydra-train", "--config-dir", CONFIG_DIR, "--config-name", "threeml_self_base"]
                     + overrides, cwd=tmp_path, env={"OMP_NUM_THREADS": "1"})
    assert "done training" in out
