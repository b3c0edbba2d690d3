"""fairseq-train from the command line: every architecture trains, the four systems learn on real text, the model
also trains under stock masked_lm, checkpoints reload, and masks are deterministic in (seed, epoch, index)."""
import pytest
import torch

from helpers import TINY_TRAIN, logged_values, run_cli

SHRINK = ["--encoder-layers", 2, "--encoder-embed-dim", 64, "--encoder-ffn-embed-dim", 128,
          "--encoder-attention-heads", 2]
ARCHS = ["maelm_tiny", "maelm_base", "maelm_large", "maelm_mlm_base", "maelm_mlm_large", "maelm_roberta_base",
         "maelm_roberta_large", "threeml_self_base", "threeml_cross_base", "threeml_self_large", "threeml_cross_large"]
NO_DECODER = {"maelm_mlm_base", "maelm_mlm_large", "maelm_roberta_base", "maelm_roberta_large"}


def train(data, save_dir, arch, updates, *extra, task="maelm", criterion="maelm"):
    args = ["fairseq-train", data, "--user-dir", "maelm_fairseq", "--task", task, "--criterion", criterion,
            "--arch", arch, "--max-update", updates, "--save-dir", save_dir] + TINY_TRAIN + list(extra)
    if arch != "maelm_tiny":
        args += SHRINK
    return run_cli(args)[1]


@pytest.mark.parametrize("arch", ARCHS)
def test_every_arch_trains_from_the_cli(word_data_bin, tmp_path, arch):
    mask_prob = ["--mask-prob", 0.5] if arch.startswith("threeml") else []
    out = train(word_data_bin, tmp_path, arch, 3, "--disable-validation", "--log-interval", 1, *mask_prob)
    losses = logged_values(out, "loss")
    assert len(losses) == 3 and all(l == l for l in losses)  # noqa: E741  (NaN check)
    decoder = arch not in NO_DECODER
    frac = logged_values(out, "enc_tok_frac")[0]
    assert (frac < 0.95) if decoder else (frac == 1.0)


SYSTEMS = {
    "mlm": ["--arch", "maelm_tiny", "--decoder-layers", 0],
    "maelm": ["--arch", "maelm_tiny"],
    "3ml_self": ["--arch", "maelm_tiny", "--decoder-layers", 2, "--mask-embedding", "learned", "--mask-prob", 0.5],
    "3ml_cross": ["--arch", "maelm_tiny", "--decoder-layers", 2, "--decoder-type", "cross",
                  "--mask-embedding", "learned", "--mask-prob", 0.5],
}


@pytest.mark.parametrize("system", SYSTEMS)
def test_loss_falls_on_real_text(word_data_bin, tmp_path, system):
    args = SYSTEMS[system]
    out = run_cli(["fairseq-train", word_data_bin, "--user-dir", "maelm_fairseq", "--task", "maelm", "--criterion",
                   "maelm", "--max-update", 50, "--save-dir", tmp_path] + TINY_TRAIN + args)[1]
    train_losses = logged_values(out, "loss")
    valid_losses = logged_values(out, "loss", kind="valid")
    assert train_losses[0] > 10.0  # ≈ log2(2000 + specials) bits at initialisation
    assert train_losses[-1] < train_losses[0] - 1.5
    assert valid_losses[-1] < valid_losses[0]


def test_trains_under_stock_masked_lm_task_and_criterion(word_data_bin, tmp_path):
    out = train(word_data_bin, tmp_path, "maelm_tiny", 20, "--disable-validation", "--mask-prob", 0.15,
                task="masked_lm", criterion="masked_lm")
    losses = logged_values(out, "loss")
    assert losses[-1] < losses[0]


def test_checkpoint_reloads_and_resumes(word_data_bin, tmp_path):
    from fairseq import checkpoint_utils

    import maelm_fairseq.tasks  # noqa: F401  (registers the plugin)

    train(word_data_bin, tmp_path, "maelm_tiny", 10)
    models, cfg, task = checkpoint_utils.load_model_ensemble_and_task(
        [str(tmp_path / "checkpoint_last.pt")], arg_overrides={"data": str(word_data_bin)})
    model = models[0].eval()
    assert model.encoder.decoder is not None and cfg.model.arch == "maelm_tiny"
    tokens = torch.tensor([[0, 10, 11, task.mask_idx, 12, 2]])
    logits, _ = model(tokens, masked_tokens=tokens.eq(task.mask_idx))
    assert logits.shape == (1, len(task.source_dictionary))
    out = train(word_data_bin, tmp_path, "maelm_tiny", 20)  # resumes from checkpoint_last.pt
    assert "Loaded checkpoint" in out and "@ 10 updates" in out
    assert "num_updates=20" in out.replace(" ", "") or logged_values(out, "num_updates")[-1] == 20


def test_masks_are_deterministic_in_seed_epoch_index(word_data_bin):
    from model_factory import MaelmConfig, MaelmTask

    def masked_sample(seed, epoch, index=3):
        task = MaelmTask.setup_task(MaelmConfig(data=str(word_data_bin), tokens_per_sample=128, seed=seed))
        task.load_dataset("valid")
        dataset = task.dataset("valid")
        dataset.set_epoch(epoch)
        return dataset.collater([dataset[index]])["net_input"]["src_tokens"]

    assert torch.equal(masked_sample(1, 1), masked_sample(1, 1))
    assert not torch.equal(masked_sample(1, 1), masked_sample(1, 2))
    assert not torch.equal(masked_sample(1, 1), masked_sample(2, 1))


def test_samples_never_exceed_tokens_per_sample(word_data_bin):
    from model_factory import MaelmConfig, MaelmTask

    task = MaelmTask.setup_task(MaelmConfig(data=str(word_data_bin), tokens_per_sample=32, seed=1))
    task.load_dataset("train")
    dataset = task.dataset("train")
    assert max(dataset.num_tokens(i) for i in range(len(dataset))) <= 32
