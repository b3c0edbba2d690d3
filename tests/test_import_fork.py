"""maelm-import-fork: a state dict in the MAE-LM repository's `ae` layout (the key names and position conventions of
its fairseq/models/ae/model.py and forked fairseq/modules/transformer_sentence_encoder.py, github.com/yumeng5/MAE-LM),
imported, gives the encoder outputs and MLM logits of a forward pass written here from that code (fp32, 1e-5); the
imported checkpoint continues pretraining and fine-tunes (sentence_prediction) on a repository data-bin.

The reference forward below follows the repository's code as we read it, not our model code: 0-indexed position
tables, the signed ceil-bucketed relative positions shifted by the minimum of the R x R table, post-LN layers,
deletion of masked tokens from the encoder, the scatter back with E[mask] at masked slots, the decoder's own positions
and LN, and the tied LM head on masked positions only."""
import json
import math
import re
from argparse import Namespace

import pytest
import torch
import torch.nn.functional as F
from fairseq.data import Dictionary

import maelm_fairseq.tasks  # noqa: F401  (as --user-dir: registers, and Dictionary.load reads repository dict.txt)
from helpers import CPU_ENV, TINY_TRAIN, logged_values, run_cli
from fork_fixtures import repository_pieces, write_pieces_dict, write_repository_data_bin, write_repository_pair_bin
from maelm_fairseq.import_fork import arch_and_flags, import_checkpoint, main
from maelm_fairseq.models.maelm import MaelmModel
from maelm_fairseq.pretrain.task import MaelmConfig, MaelmTask

DIM, HEADS, FFN, LAYERS, DECODER_LAYERS = 32, 4, 64, 2, 1
ROWS, BINS, MAX_REL = 40, 32, 64  # 40 positions: the table's farthest bucket (14) is below bins/2 - 1 (15)


# ----- a checkpoint in the repository's layout --------------------------------------------------------------------

def fork_state_dict(vocab, decoder_rel_pos, rows=ROWS, seed=0):
    g = torch.Generator().manual_seed(seed)

    def rand(*shape, std=0.3):
        return torch.randn(*shape, generator=g) * std

    def layer_norm(prefix):
        return {f"{prefix}.weight": 1 + rand(DIM, std=0.1), f"{prefix}.bias": rand(DIM, std=0.1)}

    def layer(prefix):
        weights = {}
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            weights[f"{prefix}.self_attn.{proj}.weight"] = rand(DIM, DIM)
            weights[f"{prefix}.self_attn.{proj}.bias"] = rand(DIM, std=0.1)
        weights.update(layer_norm(f"{prefix}.self_attn_layer_norm"))
        weights.update({f"{prefix}.fc1.weight": rand(FFN, DIM), f"{prefix}.fc1.bias": rand(FFN, std=0.1),
                        f"{prefix}.fc2.weight": rand(DIM, FFN), f"{prefix}.fc2.bias": rand(DIM, std=0.1)})
        weights.update(layer_norm(f"{prefix}.final_layer_norm"))
        return weights

    embed = rand(vocab, DIM)
    embed[1] = 0  # padding row
    enc, dec = "encoder.sentence_encoder", "gen_decoder.sentence_encoder"
    weights = {f"{enc}.embed_tokens.weight": embed, f"{enc}.embed_positions.weight": rand(rows, DIM),
               f"{enc}.relative_attention_bias.weight": rand(BINS, HEADS, std=1.0),
               f"{dec}.embed_tokens.weight": embed, f"{dec}.embed_positions.weight": rand(rows, DIM),
               "gen_decoder.lm_head.weight": embed, "gen_decoder.lm_head.bias": rand(vocab, std=0.1),
               "gen_decoder.lm_head.dense.weight": rand(DIM, DIM), "gen_decoder.lm_head.dense.bias": rand(DIM)}
    weights.update(layer_norm(f"{enc}.emb_layer_norm"))
    weights.update(layer_norm(f"{dec}.emb_layer_norm"))
    weights.update(layer_norm("gen_decoder.lm_head.layer_norm"))
    for i in range(LAYERS):
        weights.update(layer(f"{enc}.layers.{i}"))
    for i in range(DECODER_LAYERS):
        weights.update(layer(f"{dec}.layers.{i}"))
    if decoder_rel_pos:
        weights[f"{dec}.relative_attention_bias.weight"] = rand(BINS, HEADS, std=1.0)
    return weights


def fork_args(decoder_rel_pos, rows, **changes):
    """The Namespace the repository's train.py parses for run_pretrain.sh at tiny widths: the `ae` model's options
    as its base_architecture leaves them (the sizes are also in the weights' shapes) and the masked_lm task's, with
    --tokens-per-sample `rows` (the model's positions, as its build_model sets them)."""
    options = dict(arch="ae", task="masked_lm", criterion="masked_lm", data="fork-bin", tokens_per_sample=rows,
                   sample_break_mode="complete_doc", mask_prob=0.15, no_return_mask=True, no_pos_align=False,
                   decoder_only_mask=False, mask_subsets=1, pos_shift=0,
                   encoder_layers=LAYERS, encoder_embed_dim=DIM, encoder_ffn_embed_dim=FFN,
                   encoder_attention_heads=HEADS, decoder_embed_dim=DIM, decoder_ffn_embed_dim=FFN,
                   decoder_attention_heads=HEADS, decoder_dim_apply="both", gen_decoder_layers=DECODER_LAYERS,
                   rel_pos=1, rel_pos_bins=BINS, max_rel_pos=MAX_REL, decoder_rel_pos=int(decoder_rel_pos),
                   max_positions=rows, activation_fn="gelu", dropout=0.1, attention_dropout=0.1,
                   activation_dropout=0.0, share_pos_emb=False, no_fill_mask=False, lm_linear_head=False,
                   decoder_cross_attn=False, bottleneck_embed_dim=0, keep_encoder_dim=False,
                   restore_encoder_mask=False, decoder_sample_mode="zero-dropout")
    options.update(changes)
    return Namespace(**options)


def write_fork_checkpoint(path, vocab, decoder_rel_pos=False, rows=ROWS, **changes):
    """A checkpoint as the repository's trainer saves it: fairseq keeps a legacy run's whole Namespace as both
    cfg.model and cfg.task."""
    weights = fork_state_dict(vocab, decoder_rel_pos, rows)
    args = fork_args(decoder_rel_pos, rows, **changes)
    torch.save({"args": None, "cfg": {"model": args, "task": Namespace(**vars(args))}, "model": weights,
                "optimizer_history": [{"criterion_name": "MaskedLmLoss", "optimizer_name": "FP16Optimizer",
                                       "lr_scheduler_state": {"best": None}, "num_updates": 1000}],
                "extra_state": {"train_iterator": {"epoch": 3, "iterations_in_epoch": 7}}}, path)
    return weights


# ----- the forward pass of the repository's ae model --------------------------------------------------------------

def bucket_table(rows, bins, max_rel):
    """The repository's relative-position buckets: rel = key - query; half the bins per sign; exact below bins/4, then
    bins/4 + ceil(ln(n / (bins/4)) / ln((max_rel - 1) / (bins/4)) * (bins/4 - 1)) capped at bins/2 - 1; signed; the
    whole table shifted by its minimum."""
    rel = torch.arange(rows)[None, :] - torch.arange(rows)[:, None]
    exact = bins // 4
    n = rel.abs()
    far = exact + torch.ceil(torch.log(n.clamp(min=1).float() / exact) / math.log((max_rel - 1) / exact)
                             * (exact - 1)).long()
    table = torch.where(n < exact, n, far.clamp(max=bins // 2 - 1)) * torch.sign(rel)
    return table - table.min()


def linear(x, w, name):
    return x @ w[f"{name}.weight"].T + w[f"{name}.bias"]


def layer_norm(x, w, name):
    return F.layer_norm(x, (x.shape[-1],), w[f"{name}.weight"], w[f"{name}.bias"], eps=1e-5)


def post_ln_layer(x, w, name, bias, key_pad):
    """The repository's encoder layer: self-attention (q scaled by head_dim^-0.5, additive bias, padded keys
    excluded), dropout, residual, LN; FFN with GELU, residual, LN."""
    B, T, C = x.shape
    heads = lambda t: t.view(B, T, HEADS, C // HEADS).transpose(1, 2)  # noqa: E731
    q = heads(linear(x, w, f"{name}.self_attn.q_proj") * (C // HEADS) ** -0.5)
    k, v = heads(linear(x, w, f"{name}.self_attn.k_proj")), heads(linear(x, w, f"{name}.self_attn.v_proj"))
    scores = q @ k.transpose(-1, -2) + bias
    scores = scores.masked_fill(key_pad[:, None, None, :], float("-inf"))
    attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
    x = layer_norm(x + linear(attended, w, f"{name}.self_attn.out_proj"), w, f"{name}.self_attn_layer_norm")
    hidden = linear(F.gelu(linear(x, w, f"{name}.fc1")), w, f"{name}.fc2")
    return layer_norm(x + hidden, w, f"{name}.final_layer_norm")


def stack(x, positions, key_pad, w, prefix, layers, rel_pos):
    """Token (or filled) embeddings + the 0-indexed position table, embedding LN, padding rows zeroed, layers with
    the relative bias W_rel[table[pos_i, pos_j]] (or none)."""
    x = layer_norm(x + w[f"{prefix}.embed_positions.weight"][positions], w, f"{prefix}.emb_layer_norm")
    x = x * (~key_pad).unsqueeze(-1)
    bias = 0.0
    if rel_pos:
        table = bucket_table(w[f"{prefix}.embed_positions.weight"].shape[0], BINS, MAX_REL)
        ids = table[positions[:, :, None], positions[:, None, :]]  # (B, T, T)
        bias = w[f"{prefix}.relative_attention_bias.weight"][ids].permute(0, 3, 1, 2)
    for i in range(layers):
        x = post_ln_layer(x, w, f"{prefix}.layers.{i}", bias, key_pad)
    return x


def reference_encoder(tokens, w):
    """Fine-tuning: positions 0..T-1, nothing removed."""
    positions = torch.arange(tokens.shape[1]).expand_as(tokens)
    return stack(w["encoder.sentence_encoder.embed_tokens.weight"][tokens], positions, tokens.eq(1), w,
                 "encoder.sentence_encoder", LAYERS, rel_pos=True)


def reference_pretraining(tokens, masked, mask_idx, w, decoder_rel_pos):
    """Pretraining: (encoder output on the kept tokens (B, K, C), logits at masked positions (N, V))."""
    E = w["encoder.sentence_encoder.embed_tokens.weight"]
    padding = tokens.eq(1)
    keep = ~masked & ~padding
    width = int(keep.sum(1).max())
    kept_tokens = torch.ones(tokens.shape[0], width, dtype=torch.long)
    kept_positions = torch.ones(tokens.shape[0], width, dtype=torch.long)
    for b in range(tokens.shape[0]):
        where = keep[b].nonzero().squeeze(1)
        kept_tokens[b, :len(where)], kept_positions[b, :len(where)] = tokens[b, where], where
    enc = stack(E[kept_tokens], kept_positions, kept_tokens.eq(1), w, "encoder.sentence_encoder", LAYERS,
                rel_pos=True)
    full = torch.zeros(tokens.shape + (DIM,))
    full[keep] = enc[kept_tokens.ne(1)]
    full[masked] = E[mask_idx]
    positions = torch.arange(tokens.shape[1]).expand_as(tokens)
    dec = stack(full, positions, padding, w, "gen_decoder.sentence_encoder", DECODER_LAYERS, decoder_rel_pos)
    h = layer_norm(F.gelu(linear(dec[masked], w, "gen_decoder.lm_head.dense")), w, "gen_decoder.lm_head.layer_norm")
    return enc, h @ E.T + w["gen_decoder.lm_head.bias"]


# ----- tests --------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def repository_dictionary(tmp_path_factory):
    """The repository's dictionary of fork_fixtures' pieces ([MASK] is piece 8, so the mask index is 4)."""
    path = tmp_path_factory.mktemp("dict") / "dict.txt"
    write_pieces_dict(path, repository_pieces(with_mask=True))
    return Dictionary.load(str(path))


def our_model(checkpoint, dictionary):
    state = torch.load(checkpoint, weights_only=False)
    task = MaelmTask(MaelmConfig(data="unused", tokens_per_sample=32), dictionary)
    model = MaelmModel.build_model(state["cfg"]["model"], task)
    model.load_state_dict(state["model"], strict=True)
    return model.eval(), task


def batch(vocab, mask_idx, seed=0, lengths=(ROWS - 1, 30, 17, 9)):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.ones(len(lengths), max(lengths), dtype=torch.long)
    for b, n in enumerate(lengths):
        tokens[b, :n] = torch.randint(5, vocab, (n,), generator=g)
        tokens[b, 0], tokens[b, n - 1] = 0, 2
    masked = (torch.rand(tokens.shape, generator=g) < 0.3) & tokens.ne(1)
    masked[1, 0] = True  # <s> can be masked too, as in fairseq's masking
    assert mask_idx not in tokens
    return tokens, masked


@pytest.mark.parametrize("decoder_rel_pos", [False, True])
def test_imported_model_computes_the_repository_forward(tmp_path, repository_dictionary, decoder_rel_pos):
    d = repository_dictionary
    vocab = len(d) + ("<mask>" not in d.indices)
    fork = write_fork_checkpoint(tmp_path / "fork.pt", vocab, decoder_rel_pos)
    imported = import_checkpoint(str(tmp_path / "fork.pt"), str(tmp_path / "ours.pt"))
    assert imported.vocab == vocab and imported.arch in ("maelm_base", "maelm_large")
    assert imported.tokens_per_sample == ROWS
    model, task = our_model(tmp_path / "ours.pt", d)
    assert task.mask_idx == 4
    tokens, masked = batch(vocab, task.mask_idx)
    with torch.no_grad():
        features, _ = model(tokens, features_only=True)
        logits, extra = model(tokens.masked_fill(masked, task.mask_idx), masked_tokens=masked)
        expected_encoder, expected_logits = reference_pretraining(tokens, masked, task.mask_idx, fork,
                                                                  decoder_rel_pos)
        expected_features = reference_encoder(tokens, fork)
    real = tokens.ne(1)
    torch.testing.assert_close(features[real], expected_features[real], atol=1e-5, rtol=1e-5)
    kept = extra["encoder_real"]
    assert kept.shape == expected_encoder.shape[:2]
    torch.testing.assert_close(extra["encoder_out"][kept], expected_encoder[kept], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(logits, expected_logits, atol=1e-5, rtol=1e-5)


def test_position_rows_move_as_the_conventions_say(tmp_path, repository_dictionary):
    vocab = len(repository_dictionary)
    fork = write_fork_checkpoint(tmp_path / "fork.pt", vocab)
    import_checkpoint(str(tmp_path / "fork.pt"), str(tmp_path / "ours.pt"))
    ours = torch.load(tmp_path / "ours.pt", weights_only=False)["model"]
    for fork_prefix, prefix in (("encoder.sentence_encoder", "encoder.sentence_encoder"),
                                ("gen_decoder.sentence_encoder", "encoder.decoder")):
        table = ours[f"{prefix}.embed_positions.weight"]
        assert table.shape[0] == ROWS + 2 and torch.equal(table[2:], fork[f"{fork_prefix}.embed_positions.weight"])
    # distance 0 is row 14 of the repository's table (its 40 x 40 table reaches bucket 14) and row 15 of ours
    rel = ours["encoder.sentence_encoder.rel_pos_bias.weight"]
    assert torch.equal(rel[1:], fork["encoder.sentence_encoder.relative_attention_bias.weight"][:-1])
    assert bucket_table(ROWS, BINS, MAX_REL)[0, 0] == 14


@pytest.mark.parametrize("change,message", [
    (dict(no_return_mask=False), "trained without --no-return-mask (the encoder saw [MASK]"),
    (dict(no_pos_align=True), "trained with --no-pos-align (the kept tokens took positions 0..K-1"),
    (dict(decoder_only_mask=True), "trained with --decoder-only-mask (the decoder read its own"),
    (dict(mask_subsets=2), "trained with --mask-subsets 2 (the decoder ran once per mask subset)"),
    (dict(restore_encoder_mask=True), "trained with --restore-encoder-mask ([MASK] positions kept their input"),
    (dict(share_pos_emb=True), "trained with --share-pos-emb (the decoder reused the encoder's position table)"),
])
def test_runs_off_the_published_forward_pass_are_refused(tmp_path, capsys, change, message):
    write_fork_checkpoint(tmp_path / "fork.pt", 60, **change)
    assert main([str(tmp_path / "fork.pt"), str(tmp_path / "ours.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'fork.pt'}: the checkpoint was {message}") and err.count("\n") == 1
    assert "only the published run's forward pass converts" in err and not (tmp_path / "ours.pt").exists()


def test_a_run_that_stored_no_return_mask_default_is_refused(tmp_path, capsys):
    """The repository's masked_lm task defaults to in-place [MASK] (no --no-return-mask): a config without the
    option is that default, not the published run."""
    write_fork_checkpoint(tmp_path / "fork.pt", 60)
    state = torch.load(tmp_path / "fork.pt", weights_only=False)
    for section in state["cfg"].values():
        del section.no_return_mask
    torch.save(state, tmp_path / "fork.pt")
    assert main([str(tmp_path / "fork.pt"), str(tmp_path / "ours.pt")]) == 2
    assert "trained without --no-return-mask" in capsys.readouterr().err


def test_an_unreadable_checkpoint_is_one_line(tmp_path, capsys):
    (tmp_path / "fork.pt").write_bytes(b"PK\x03\x04 cut short")
    assert main([str(tmp_path / "fork.pt"), str(tmp_path / "ours.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'fork.pt'}: cannot be read as a checkpoint") and err.count("\n") == 1


TOKENS_PER_SAMPLE = 64  # a run of --tokens-per-sample 64: its model has 64 positions, not 512


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A repository data-bin and pair task, and a repository checkpoint of their vocabulary trained with
    --tokens-per-sample 64, imported: (folder, the repository's weights, the printed command lines' flags)."""
    root = tmp_path_factory.mktemp("imported")
    _, vocab, mask = write_repository_data_bin(root / "bin", with_mask=True)
    write_repository_pair_bin(root / "pairs", with_mask=True)
    fork = write_fork_checkpoint(root / "fork.pt", vocab, rows=TOKENS_PER_SAMPLE)
    _, output = run_cli(["maelm-import-fork", root / "fork.pt", root / "ours.pt"], env=CPU_ENV)
    printed = {}
    for line in output.splitlines():
        use, _, flags = line.strip().partition(": ")
        if use in ("fine-tune", "continue pretraining"):
            printed[use] = flags.split()
    return root, fork, printed


def test_imported_checkpoint_loads_with_fairseq_as_it_is(imported):
    """fairseq's own loader builds the task from the stored config (no overrides but the data-bin) and the model
    from the weights: the encoder gives the repository's features on a 64-token row."""
    import maelm_fairseq.tasks  # noqa: F401  (registers the plugin)
    from fairseq import checkpoint_utils

    root, fork, _ = imported
    models, cfg, task = checkpoint_utils.load_model_ensemble_and_task([str(root / "ours.pt")],
                                                                     arg_overrides={"data": str(root / "bin")})
    assert cfg.task.tokens_per_sample == TOKENS_PER_SAMPLE == cfg.model.max_positions
    tokens, _ = batch(len(task.source_dictionary), task.mask_idx, lengths=[TOKENS_PER_SAMPLE, 30, 9])
    with torch.no_grad():
        features, _ = models[0].eval()(tokens, features_only=True)
        expected = reference_encoder(tokens, fork)
    real = tokens.ne(1)
    torch.testing.assert_close(features[real], expected[real], atol=1e-5, rtol=1e-5)


def test_imported_checkpoint_continues_pretraining(imported):
    """The printed command line as it is (the training flags before it, so its own flags win)."""
    root, _, printed = imported
    assert printed["continue pretraining"][-2:] == ["--tokens-per-sample", str(TOKENS_PER_SAMPLE)]
    _, output = run_cli(["maelm-train", root / "bin", *TINY_TRAIN, "--max-update", 4, "--save-dir", root / "continued",
                         "--no-save", *printed["continue pretraining"]], env=CPU_ENV)
    assert f"Loaded checkpoint {root / 'ours.pt'}" in output
    losses = logged_values(output, "loss", kind="valid")
    assert losses and all(math.isfinite(loss) for loss in losses)


def test_imported_checkpoint_fine_tunes_with_sentence_prediction(imported):
    root, _, printed = imported
    _, output = run_cli(["maelm-train", root / "pairs", "--task", "sentence_prediction", "--criterion",
                         "sentence_prediction", *printed["fine-tune"], "--num-classes", 2, "--init-token", 0,
                         "--separator-token", 2, "--optimizer", "adam", "--lr", 1e-4,
                         "--batch-size", 8, "--max-update", 4, "--cpu", "--num-workers", 0, "--log-format", "simple",
                         "--save-dir", root / "glue", "--no-save"], env=CPU_ENV)
    assert f"Loaded checkpoint {root / 'ours.pt'}" in output
    assert logged_values(output, "accuracy", kind="valid")


def test_imported_checkpoint_gives_maelm_rank(imported, tmp_path):
    root, _, _ = imported
    run_cli(["maelm-rank", root / "ours.pt", "--data", root / "bin", "--out", tmp_path / "rank", "--tokens-per-sample",
             TOKENS_PER_SAMPLE, "--device", "cpu", "--no-progress", "--max-tokens", 2000], env=CPU_ENV)
    rows = json.loads((tmp_path / "rank.json").read_text())["models"][0]["rows"]
    without = [r for r in rows if r["condition"] == "without_mask"]
    assert [r["layer"] for r in without] == list(range(LAYERS + 1))
    assert all(1 <= r["effective_rank"] <= DIM for r in without)
    assert json.loads((tmp_path / "rank.json").read_text())["models"][0]["hidden_dim"] == DIM


def test_the_published_runs_rebuild_with_our_archs():
    """`ae` base (run_pretrain.sh: rel-pos 64 bins, max 128, 4-layer decoder) is maelm_base as it is; `ae_large` run
    with the same script's rel-pos flags is maelm_large with those two flags."""
    base = dict(encoder_layers=12, encoder_embed_dim=768, encoder_ffn_embed_dim=3072, encoder_attention_heads=12,
                decoder_layers=4, decoder_embed_dim=768, decoder_ffn_embed_dim=3072, decoder_attention_heads=12,
                decoder_type="self", decoder_dropout=0.0, mask_embedding="tied", rel_pos=1, rel_pos_bins=64,
                max_rel_pos=128, decoder_rel_pos=0, max_positions=512, activation_fn="gelu", dropout=0.1,
                attention_dropout=0.1, activation_dropout=0.0)
    large = dict(base, encoder_layers=24, encoder_embed_dim=1024, encoder_ffn_embed_dim=4096,
                 encoder_attention_heads=16, decoder_embed_dim=1024, decoder_ffn_embed_dim=4096,
                 decoder_attention_heads=16)
    assert arch_and_flags(base) == ("maelm_base", [])
    assert arch_and_flags(large) == ("maelm_large", ["--rel-pos-bins", "64", "--max-rel-pos", "128"])


def test_imported_checkpoint_exports_to_transformers(imported, tmp_path):
    root, _, _ = imported
    _, output = run_cli(["maelm-export-hf", root / "ours.pt", "--out", tmp_path / "hf", "--no-tokenizer"],
                        env=CPU_ENV)
    difference = float(re.search(r"max abs difference vs ours ([-\d.e+]+)", output).group(1))
    assert "decoder dropped" in output and difference <= 1e-4
