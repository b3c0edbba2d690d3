"""The install: patched fairseq imports and its CLIs start; the patch is idempotent and refuses unknown sources;
the plugin registers its names once under every route (--user-dir, installed console script, hydra)."""
import importlib.util
import os
import shutil

import pytest

from helpers import REPO, TINY_TRAIN, run_cli

PATCH_PATH = os.path.join(REPO, "tools", "patch_fairseq_0122.py")


def load_patch_module():
    spec = importlib.util.spec_from_file_location("patch_fairseq_0122", PATCH_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fairseq_imports_with_its_cython_extensions():
    import fairseq
    from fairseq.data import data_utils_fast, token_block_utils_fast  # noqa: F401

    assert fairseq.__version__ == "0.12.2"


@pytest.mark.parametrize("cli", ["fairseq-train", "fairseq-preprocess", "fairseq-hydra-train", "maelm-train"])
def test_cli_help_starts(cli):
    _, out = run_cli([cli, "--help"])
    assert "usage" in out.lower() or "hydra" in out.lower()


def test_fastbpe_and_sacremoses_work(tmp_path):
    import fastBPE
    from sacremoses import MosesTokenizer

    tokens = MosesTokenizer(lang="en").tokenize("Hello, world! It's fine.", return_str=True)
    assert tokens.startswith("Hello , world !")
    (tmp_path / "train.txt").write_text("\n".join([tokens] * 50) + "\n")
    _, codes = run_cli(["fastbpe", "learnbpe", 20, tmp_path / "train.txt"])  # the learner install.sh builds
    (tmp_path / "codes").write_text(codes)
    bpe = fastBPE.fastBPE(str(tmp_path / "codes"))
    assert bpe.apply(["Hello world"]) == ["Hello world"]  # frequent words are merged whole


def fairseq_copy(tmp_path):
    """A copy of the installed (patched) fairseq files the patch touches."""
    patch = load_patch_module()
    root = patch.fairseq_root()
    copy = tmp_path / "fairseq"
    for rel in {rel for rel, _, _ in patch.EDITS}:
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(root, rel), copy / rel)
    return patch, copy


def test_patch_applies_once_and_is_idempotent(tmp_path):
    patch, copy = fairseq_copy(tmp_path)
    assert patch.apply_edits(str(copy)) == (0, len(patch.EDITS), [])  # installed tree is already patched
    for rel, old, new in patch.EDITS:  # undo every edit: this is the pristine 0.12.2 source
        path = copy / rel
        path.write_text(path.read_text().replace(new, old))
    assert patch.apply_edits(str(copy)) == (len(patch.EDITS), 0, [])
    assert patch.apply_edits(str(copy)) == (0, len(patch.EDITS), [])


def test_patch_fails_loudly_on_unexpected_source(tmp_path):
    patch, copy = fairseq_copy(tmp_path)
    rel, old, new = patch.EDITS[-1]
    (copy / rel).write_text("# some other fairseq version\n")
    applied, present, failures = patch.apply_edits(str(copy))
    assert len(failures) == 1 and rel in failures[0]


def test_patch_script_exit_code_on_installed_tree():
    code, out = run_cli(["python", PATCH_PATH])
    assert code == 0 and "0 edits applied" in out


def test_plugin_names_are_registered():
    import maelm_fairseq.tasks  # noqa: F401  (registers the plugin)
    from fairseq.criterions import CRITERION_REGISTRY
    from fairseq.models import ARCH_MODEL_REGISTRY, MODEL_REGISTRY
    from fairseq.tasks import TASK_REGISTRY

    assert "maelm" in TASK_REGISTRY and "maelm" in MODEL_REGISTRY and "maelm" in CRITERION_REGISTRY
    for arch in ["maelm_tiny", "maelm_base", "maelm_large", "maelm_mlm_base", "maelm_mlm_large", "maelm_roberta_base",
                 "maelm_roberta_large", "threeml_self_base",
                 "threeml_cross_base", "threeml_self_large", "threeml_cross_large"]:
        assert ARCH_MODEL_REGISTRY[arch] is MODEL_REGISTRY["maelm"]


ONE_UPDATE = ["--task", "maelm", "--criterion", "maelm", "--arch", "maelm_tiny", "--max-update", 1,
              "--no-save", "--disable-validation"] + TINY_TRAIN


def test_user_dir_from_repo_root(word_data_bin):
    _, out = run_cli(["fairseq-train", word_data_bin, "--user-dir", "maelm_fairseq"] + ONE_UPDATE)
    assert "done training" in out


def test_installed_console_script_from_another_directory(word_data_bin, tmp_path):
    _, out = run_cli(["maelm-train", word_data_bin] + ONE_UPDATE, cwd=tmp_path)
    assert "done training" in out


def test_user_dir_as_absolute_path_of_the_installed_package(word_data_bin, tmp_path):
    import maelm_fairseq

    plugin = os.path.dirname(maelm_fairseq.__file__)
    _, out = run_cli(["fairseq-train", word_data_bin, "--user-dir", plugin] + ONE_UPDATE, cwd=tmp_path)
    assert "done training" in out


def test_hydra_train_with_common_user_dir(word_data_bin, tmp_path):
    import maelm_fairseq

    (tmp_path / "tiny.yaml").write_text(f"""
common: {{cpu: true, seed: 1, log_format: simple, log_interval: 1, user_dir: {os.path.dirname(maelm_fairseq.__file__)}}}
task: {{_name: maelm, data: {word_data_bin}, tokens_per_sample: 128}}
criterion: maelm
model: {{_name: maelm_tiny}}
dataset: {{batch_size: 8, num_workers: 0, disable_validation: true}}
optimizer: {{_name: adam}}
lr_scheduler: {{_name: fixed}}
optimization: {{max_update: 1, lr: [0.001]}}
checkpoint: {{no_save: true}}
""")
    _, out = run_cli(["fairseq-hydra-train", "--config-dir", tmp_path, "--config-name", "tiny"], cwd=tmp_path)
    assert "Cannot register duplicate" not in out and "done training" in out
