"""maelm-import-fork: a state dict in the MAE-LM repository's `ae` layout (key names and position conventions of spec
§2.5-2.9), imported, gives the encoder outputs and MLM logits of a forward pass written here from the spec (fp32,
1e-5); the imported checkpoint continues pretraining and fine-tunes (sentence_prediction) on a repository data-bin.

The reference forward below follows the spec's prose, not our model code: 0-indexed position tables, the signed
ceil-bucketed relative positions shifted by the minimum of the R x R table, post-LN layers, deletion of masked
tokens from the encoder, the scatter back with E[mask] at masked slots, the decoder's own positions and LN, and the
tied LM head on masked positions only."""
import math
import re
from argparse import Namespace

import pytest
import torch
import torch.nn.functional as F
from fairseq.data import Dictionary

from helpers import TINY_TRAIN, logged_values, run_cli
from fork_fixtures import repository_pieces, write_pieces_dict, write_repository_data_bin, write_repository_pair_bin
from maelm_fairseq.import_fork import arch_and_flags, import_checkpoint, main
from maelm_fairseq.models.maelm import MaelmModel
from maelm_fairseq.tasks.maelm import MaelmConfig, MaelmTask

CPU_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
DIM, HEADS, FFN, LAYERS, DECODER_LAYERS = 32, 4, 64, 2, 1
ROWS, BINS, MAX_REL = 40, 32, 64  # 40 positions: the table's farthest bucket (14) is below bins/2 - 1 (15)


# ----- a checkpoint in the repository's layout --------------------------------------------------------------------

def fork_state_dict(vocab, decoder_rel_pos, seed=0):
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
    weights = {f"{enc}.embed_tokens.weight": embed, f"{enc}.embed_positions.weight": rand(ROWS, DIM),
               f"{enc}.relative_attention_bias.weight": rand(BINS, HEADS, std=1.0),
               f"{dec}.embed_tokens.weight": embed, f"{dec}.embed_positions.weight": rand(ROWS, DIM),
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


def fork_model_options(decoder_rel_pos, **changes):
    """cfg.model of an `ae` checkpoint: what its base_architecture leaves in the Namespace (the sizes are also in
    the weights' shapes)."""
    options = dict(arch="ae", encoder_layers=LAYERS, encoder_embed_dim=DIM, encoder_ffn_embed_dim=FFN,
                   encoder_attention_heads=HEADS, decoder_embed_dim=DIM, decoder_ffn_embed_dim=FFN,
                   decoder_attention_heads=HEADS, decoder_dim_apply="both", gen_decoder_layers=DECODER_LAYERS,
                   rel_pos=1, rel_pos_bins=BINS, max_rel_pos=MAX_REL, decoder_rel_pos=int(decoder_rel_pos),
                   max_positions=ROWS, activation_fn="gelu", dropout=0.1, attention_dropout=0.1,
                   activation_dropout=0.0, share_pos_emb=False, no_fill_mask=False, lm_linear_head=False,
                   decoder_cross_attn=False, bottleneck_embed_dim=0, keep_encoder_dim=False,
                   decoder_sample_mode="zero-dropout")
    options.update(changes)
    return Namespace(**options)


def write_fork_checkpoint(path, vocab, decoder_rel_pos=False, **changes):
    weights = fork_state_dict(vocab, decoder_rel_pos)
    torch.save({"args": None, "cfg": {"model": fork_model_options(decoder_rel_pos, **changes)}, "model": weights,
                "optimizer_history": [{"criterion_name": "MaskedLmLoss", "optimizer_name": "FP16Optimizer",
                                       "lr_scheduler_state": {"best": None}, "num_updates": 1000}],
                "extra_state": {"train_iterator": {"epoch": 3, "iterations_in_epoch": 7}}}, path)
    return weights


# ----- the forward pass of spec §2.5-2.9 ---------------------------------------------------------------------------

def bucket_table(rows, bins, max_rel):
    """§2.6: rel = key - query; half the bins per sign; exact below bins/4, then
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
    """§2.5.6: self-attention (q scaled by head_dim^-0.5, additive bias, padded keys excluded), dropout, residual, LN;
    FFN with GELU, residual, LN."""
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
        table = bucket_table(ROWS, BINS, MAX_REL)
        ids = table[positions[:, :, None], positions[:, None, :]]  # (B, T, T)
        bias = w[f"{prefix}.relative_attention_bias.weight"][ids].permute(0, 3, 1, 2)
    for i in range(layers):
        x = post_ln_layer(x, w, f"{prefix}.layers.{i}", bias, key_pad)
    return x


def reference_encoder(tokens, w):
    """Fine-tuning: positions 0..T-1, nothing removed (§4)."""
    positions = torch.arange(tokens.shape[1]).expand_as(tokens)
    return stack(w["encoder.sentence_encoder.embed_tokens.weight"][tokens], positions, tokens.eq(1), w,
                 "encoder.sentence_encoder", LAYERS, rel_pos=True)


def reference_pretraining(tokens, masked, mask_idx, w, decoder_rel_pos):
    """§2.5-2.9: (encoder output on the kept tokens (B, K, C), logits at masked positions (N, V))."""
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


def batch(vocab, mask_idx, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = [ROWS - 1, 30, 17, 9]
    tokens = torch.ones(len(lengths), max(lengths), dtype=torch.long)
    for b, n in enumerate(lengths):
        tokens[b, :n] = torch.randint(5, vocab, (n,), generator=g)
        tokens[b, 0], tokens[b, n - 1] = 0, 2
    masked = (torch.rand(tokens.shape, generator=g) < 0.3) & tokens.ne(1)
    masked[1, 0] = True  # <s> can be masked too (§7.3)
    assert mask_idx not in tokens
    return tokens, masked


@pytest.mark.parametrize("decoder_rel_pos", [False, True])
def test_imported_model_computes_the_repository_forward(tmp_path, repository_dictionary, decoder_rel_pos):
    d = repository_dictionary
    vocab = len(d) + ("<mask>" not in d.indices)
    fork = write_fork_checkpoint(tmp_path / "fork.pt", vocab, decoder_rel_pos)
    arch, flags, imported_vocab = import_checkpoint(str(tmp_path / "fork.pt"), str(tmp_path / "ours.pt"))
    assert imported_vocab == vocab and arch in ("maelm_base", "maelm_large")
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


def test_options_outside_the_published_run_are_refused(tmp_path, capsys):
    write_fork_checkpoint(tmp_path / "fork.pt", 60, share_pos_emb=True)
    assert main([str(tmp_path / "fork.pt"), str(tmp_path / "ours.pt")]) == 2
    assert "--share-pos-emb True" in capsys.readouterr().err and not (tmp_path / "ours.pt").exists()


def test_an_unreadable_checkpoint_is_one_line(tmp_path, capsys):
    (tmp_path / "fork.pt").write_bytes(b"PK\x03\x04 cut short")
    assert main([str(tmp_path / "fork.pt"), str(tmp_path / "ours.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'fork.pt'}: cannot be read as a checkpoint") and err.count("\n") == 1


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A repository data-bin and pair task, and a repository checkpoint of their vocabulary, imported."""
    root = tmp_path_factory.mktemp("imported")
    _, vocab, mask = write_repository_data_bin(root / "bin", with_mask=True)
    write_repository_pair_bin(root / "pairs", with_mask=True)
    write_fork_checkpoint(root / "fork.pt", vocab)
    _, output = run_cli(["maelm-import-fork", root / "fork.pt", root / "ours.pt"], env=CPU_ENV)
    # the printed command line for continued pretraining ends with the --arch and flags to use
    continue_line = next(line for line in output.splitlines() if "continue pretraining:" in line)
    return root, continue_line.split(f"--finetune-from-model {root / 'ours.pt'} ")[1].split()


def test_imported_checkpoint_continues_pretraining(imported):
    root, arch_flags = imported
    _, output = run_cli(["maelm-train", root / "bin", "--task", "maelm", "--criterion", "maelm", *arch_flags,
                         *TINY_TRAIN, "--tokens-per-sample", 32, "--finetune-from-model", root / "ours.pt",
                         "--max-update", 4, "--save-dir", root / "continued", "--no-save"], env=CPU_ENV)
    assert f"Loaded checkpoint {root / 'ours.pt'}" in output
    losses = logged_values(output, "loss", kind="valid")
    assert losses and all(math.isfinite(loss) for loss in losses)


def test_imported_checkpoint_fine_tunes_with_sentence_prediction(imported):
    root, arch_flags = imported
    _, output = run_cli(["maelm-train", root / "pairs", "--task", "sentence_prediction", "--criterion",
                         "sentence_prediction", *arch_flags, "--num-classes", 2, "--init-token", 0,
                         "--separator-token", 2, "--restore-file", root / "ours.pt", "--reset-optimizer",
                         "--reset-dataloader", "--reset-meters", "--optimizer", "adam", "--lr", 1e-4,
                         "--batch-size", 8, "--max-update", 4, "--cpu", "--num-workers", 0, "--log-format", "simple",
                         "--save-dir", root / "glue", "--no-save"], env=CPU_ENV)
    assert f"Loaded checkpoint {root / 'ours.pt'}" in output
    assert logged_values(output, "accuracy", kind="valid")


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
    root, _ = imported
    _, output = run_cli(["maelm-export-hf", root / "ours.pt", "--out", tmp_path / "hf", "--no-tokenizer"],
                        env=CPU_ENV)
    difference = float(re.search(r"max abs difference vs ours ([-\d.e+]+)", output).group(1))
    assert "decoder dropped" in output and difference <= 1e-4
