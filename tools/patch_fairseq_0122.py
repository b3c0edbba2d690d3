"""Install-time source patch that makes the PyPI sdist fairseq==0.12.2 run on Python 3.11, numpy>=1.24, torch>=2.6.

Each edit is an exact string that must occur once in the installed file; an edit already applied is skipped, so
running this twice changes nothing. Any other fairseq version (an expected line not found) exits 1 with the file
named. The edits, and why:
  * Python 3.11 refuses dataclass instances as field defaults  -> default_factory (configs, transformer_config),
    and hydra_init reads the factory instead of .default.
  * numpy 1.24 removed np.int / np.float.
  * torch 2.6 made torch.load(weights_only=True) the default; fairseq checkpoints pickle argparse/omegaconf
    objects -> weights_only=False where fairseq loads its own checkpoints and rank-to-rank objects.
  * 0.12.2's BetterTransformer inference path fails on torch 2 ("Mask Type should be defined"); upstream later
    deleted it, we switch it off.
"""
import importlib.util
import os
import sys

EXPECTED_VERSION = "0.12.2"

_TOP_CONFIGS = ["common:CommonConfig", "common_eval:CommonEvalConfig",
                "distributed_training:DistributedTrainingConfig", "dataset:DatasetConfig",
                "optimization:OptimizationConfig", "checkpoint:CheckpointConfig", "bmuf:FairseqBMUFConfig",
                "generation:GenerationConfig", "eval_lm:EvalLMConfig", "interactive:InteractiveConfig",
                "ema:EMAConfig"]

EDITS = [("dataclass/configs.py", f"    {name}: {cls} = {cls}()\n", f"    {name}: {cls} = field(default_factory={cls})\n")
         for name, cls in (item.split(":") for item in _TOP_CONFIGS)]
EDITS += [
    ("dataclass/initialize.py",
     "        v = FairseqConfig.__dataclass_fields__[k].default\n",
     "        _field = FairseqConfig.__dataclass_fields__[k]\n"
     "        v = _field.default_factory() if callable(_field.default_factory) else _field.default\n"),
    ("models/transformer/transformer_config.py",
     "    encoder: EncDecBaseConfig = EncDecBaseConfig()\n",
     "    encoder: EncDecBaseConfig = field(default_factory=EncDecBaseConfig)\n"),
    ("models/transformer/transformer_config.py",
     "    decoder: DecoderConfig = DecoderConfig()\n",
     "    decoder: DecoderConfig = field(default_factory=DecoderConfig)\n"),
    ("models/transformer/transformer_config.py",
     "    quant_noise: QuantNoiseConfig = field(default=QuantNoiseConfig())\n",
     "    quant_noise: QuantNoiseConfig = field(default_factory=QuantNoiseConfig)\n"),
    ("data/data_utils.py", "                    np.int,\n", "                    int,\n"),
    ("modules/dynamic_crf_layer.py", 'targets[:, :, None], np.float("inf"))', 'targets[:, :, None], float("inf"))'),
    ("checkpoint_utils.py",
     '        state = torch.load(f, map_location=torch.device("cpu"))\n',
     '        state = torch.load(f, map_location=torch.device("cpu"), weights_only=False)\n'),
    ("checkpoint_utils.py",
     '                lambda s, _: torch.serialization.default_restore_location(s, "cpu")\n            ),\n',
     '                lambda s, _: torch.serialization.default_restore_location(s, "cpu")\n            ),\n'
     "            weights_only=False,\n"),
    ("distributed/utils.py",
     '        obj = torch.load(buffer, map_location="cpu")\n',
     '        obj = torch.load(buffer, map_location="cpu", weights_only=False)\n'),
    ("modules/transformer_layer.py",
     "        self.load_to_BT = True\n",
     "        self.load_to_BT = False  # maelm-fairseq patch: BT fast path fails on torch>=2\n"),
]


def fairseq_root():
    spec = importlib.util.find_spec("fairseq")  # locates the package without running fairseq/__init__.py
    if spec is None or not spec.submodule_search_locations:
        sys.exit("patch_fairseq_0122: fairseq is not installed in this interpreter")
    return list(spec.submodule_search_locations)[0]


def apply_edits(root):
    """Apply EDITS under a fairseq package directory; returns (applied, already_present, failures)."""
    applied = present = 0
    failures = []
    for rel, old, new in EDITS:
        path = os.path.join(root, rel)
        if not os.path.isfile(path):
            failures.append(f"{path}: file missing")
            continue
        with open(path, encoding="utf-8") as fh:
            src = fh.read()
        if new in src:
            present += 1
            continue
        if src.count(old) != 1:
            failures.append(f"{path}: expected exactly one {old.strip()[:60]!r}")
            continue
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(src.replace(old, new))
        applied += 1
        cache = os.path.join(os.path.dirname(path), "__pycache__")
        stem = os.path.splitext(os.path.basename(path))[0] + "."
        for name in os.listdir(cache) if os.path.isdir(cache) else []:
            if name.startswith(stem):
                os.remove(os.path.join(cache, name))
    return applied, present, failures


def main():
    from importlib.metadata import version
    found = version("fairseq")
    if found != EXPECTED_VERSION:
        sys.exit(f"patch_fairseq_0122: installed fairseq is {found}, this patch is for {EXPECTED_VERSION}; "
                 f"run `pip install --no-deps fairseq=={EXPECTED_VERSION}`")
    root = fairseq_root()
    applied, present, failures = apply_edits(root)
    for line in failures:
        print("patch_fairseq_0122: FAILED " + line, file=sys.stderr)
    print(f"patch_fairseq_0122: {applied} edits applied, {present} already present, {len(failures)} failed ({root})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
