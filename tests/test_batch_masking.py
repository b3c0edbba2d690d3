"""The `maelm` task's batched input pipeline against fairseq's: same blocks, same batches, masks with the
distribution of MaskTokensDataset, and each sample's crop and mask a function of (seed, epoch, index) only.

Statistical checks compare counts over thousands of rows (seeds fixed, so the outcome is reproducible). A
tolerance of Z standard errors is stated at each check: Z = 4.5 for one proportion against its exact value,
Z * sqrt(2) for ours against fairseq's (two independent estimates); chi-square statistics against dof + 6 sd."""
import json
import math
import os
import shutil

import numpy as np
import pytest
import torch
from fairseq.data import BaseWrapperDataset, Dictionary, MaskTokensDataset, TokenBlockDataset, data_utils
from fairseq.data.indexed_dataset import make_builder
from fairseq.data.shorten_dataset import RandomCropDataset, TruncateDataset

from helpers import REPO
from maelm_fairseq.data.batch_masking import BatchMasker
from maelm_fairseq.data.keyed_random import KeyedRandom
from maelm_fairseq.data.token_blocks import ShortenedTokenBlocks
from maelm_fairseq.data.word_starts import word_start_table
from maelm_fairseq.errors import UserInputError
from maelm_fairseq.pretrain.task import MaelmConfig, MaelmTask

Z = 4.5


def close(a, b, se, z=Z):
    assert abs(a - b) <= z * se, (a, b, se)


# ------------------------------------------------------------------------------------------------ masks

def vocabulary(symbols=48, word_start_every=None):
    """Symbols with decreasing counts (so --freq-weighted-replacement has something to follow), and <mask>."""
    d = Dictionary()
    for i in range(symbols):
        start = word_start_every is None or i % word_start_every == 0
        d.add_symbol(("\u2581" if start else "") + f"s{i}", n=1000 // (i + 1))
    return d, d.add_symbol("<mask>")


def random_rows(d, rows, length, seed=0):
    rng = np.random.RandomState(seed)
    tokens = rng.randint(d.nspecial, len(d) - 1, size=(rows, length))  # ordinary symbols, never <mask>
    tokens[:, 0] = d.bos()
    return torch.from_numpy(tokens)


class Rows(torch.utils.data.Dataset):
    def __init__(self, tokens):
        self.tokens = tokens

    def __getitem__(self, i):
        return self.tokens[i]

    def __len__(self):
        return len(self.tokens)


def fairseq_masks(d, mask_idx, tokens, word_starts=None, **options):
    """(source, target) of every row, from fairseq's MaskTokensDataset (one sample at a time)."""
    whole = word_starts.to(torch.uint8) if word_starts is not None else None
    options = {"leave_unmasked_prob": 0.0, "random_token_prob": 0.0, **options}  # fairseq's defaults are 0.1
    source, target = MaskTokensDataset.apply_mask(Rows(tokens), d, pad_idx=d.pad(), mask_idx=mask_idx, seed=1,
                                                  mask_whole_words=whole, **options)
    return (torch.stack([source[i] for i in range(len(tokens))]),
            torch.stack([target[i] for i in range(len(tokens))]))


def our_masks(d, mask_idx, tokens, word_starts=None, batch=64, **options):
    masker = BatchMasker(d, mask_idx, seed=1, mask_prob=options["mask_prob"],
                         leave_unmasked_prob=options.get("leave_unmasked_prob", 0.0),
                         random_token_prob=options.get("random_token_prob", 0.0),
                         freq_weighted_replacement=options.get("freq_weighted_replacement", False),
                         word_starts=word_starts, span_length=options.get("mask_multiple_length", 1),
                         span_stdev=options.get("mask_stdev", 0.0))
    parts = [masker(tokens[i:i + batch], torch.full((len(tokens[i:i + batch]),), tokens.size(1)),
                    list(range(i, i + len(tokens[i:i + batch]))), 1) for i in range(0, len(tokens), batch)]
    return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])


BERT = dict(leave_unmasked_prob=0.1, random_token_prob=0.1)


@pytest.mark.parametrize("left, replaced", [(0.1, 0.1), (0.05, 0.25)])
def test_count_fate_and_position_match_fairseq_bert_masking(left, replaced):
    """p = 0.15 on rows of 37: the count is 5 or 6 (p n = 5.55, probabilistic rounding), each position selected
    with probability 0.15, selected tokens left unchanged / replaced at random / <mask> as the flags say
    (BERT's 80/10/10, and an uneven split that tells the two apart)."""
    d, mask_idx = vocabulary()
    rows, n = 4000, 37
    tokens = random_rows(d, rows, n)
    options = dict(mask_prob=0.15, leave_unmasked_prob=left, random_token_prob=replaced)
    for source, target in (fairseq_masks(d, mask_idx, tokens, **options), our_masks(d, mask_idx, tokens, **options)):
        selected = target.ne(d.pad())
        assert torch.equal(target[selected], tokens[selected])
        counts = selected.sum(1)
        assert set(counts.tolist()) == {5, 6}
        close(counts.eq(6).float().mean().item(), 0.55, math.sqrt(0.55 * 0.45 / rows))
        per_position = selected.float().mean(0)
        assert per_position.sub(0.15).abs().max().item() <= Z * math.sqrt(0.15 * 0.85 / rows)
        chosen = int(selected.sum())
        as_mask = source[selected].eq(mask_idx).float().mean().item()
        kept = source[selected].eq(tokens[selected]).float().mean().item()
        close(as_mask, 1 - left - replaced, math.sqrt(0.25 / chosen))
        close(kept, left + replaced / (len(d) - d.nspecial), math.sqrt(0.25 / chosen))  # a random draw may hit it
        assert source[~selected].equal(tokens[~selected])


def test_our_distribution_is_fairseqs_position_by_position():
    """The per-position selection rate of ours and fairseq's over the same rows agree within two standard errors
    of a difference (here for p = 0.5, MAE-LM's and 3ML's all-<mask> masking)."""
    d, mask_idx = vocabulary()
    rows, n = 3000, 29
    tokens = random_rows(d, rows, n, seed=1)
    theirs = fairseq_masks(d, mask_idx, tokens, mask_prob=0.5)
    ours = our_masks(d, mask_idx, tokens, mask_prob=0.5)
    se = math.sqrt(2 * 0.25 / rows)
    for (source, target), reference in ((ours, theirs), (theirs, ours)):
        selected = target.ne(d.pad())
        assert torch.equal(source.eq(mask_idx), selected)  # no 80/10/10: every selected token is <mask>
        assert set(selected.sum(1).tolist()) == {14, 15}  # 14.5
    difference = ours[1].ne(d.pad()).float().mean(0) - theirs[1].ne(d.pad()).float().mean(0)
    assert difference.abs().max().item() <= Z * se


def replacement_chi2(draws, weights):
    counts = np.bincount(draws, minlength=len(weights))
    expected = weights / weights.sum() * len(draws)
    drawable = expected > 0
    assert counts[~drawable].sum() == 0  # never a special symbol
    return float(((counts[drawable] - expected[drawable]) ** 2 / expected[drawable]).sum()), int(drawable.sum()) - 1


@pytest.mark.parametrize("freq_weighted", [False, True])
def test_random_replacements_follow_fairseqs_weights(freq_weighted):
    """--random-token-prob 1: every selected token replaced; the draws follow fairseq's weights (uniform over the
    non-special symbols, <mask> included as in fairseq, or by dictionary count), and not the other weights."""
    d, mask_idx = vocabulary()
    tokens = random_rows(d, 1500, 40, seed=2)
    counts = np.array(d.count, dtype=np.float64)
    counts[:d.nspecial] = 0
    uniform = np.ones(len(d))
    uniform[:d.nspecial] = 0
    weights, other = (counts, uniform) if freq_weighted else (uniform, counts)
    options = dict(mask_prob=0.5, random_token_prob=1.0, leave_unmasked_prob=0.0,
                   freq_weighted_replacement=freq_weighted)
    for source, target in (fairseq_masks(d, mask_idx, tokens, **options), our_masks(d, mask_idx, tokens, **options)):
        draws = source[target.ne(d.pad())].numpy()
        chi2, dof = replacement_chi2(draws, weights)
        assert chi2 < dof + 6 * math.sqrt(2 * dof), chi2
        assert replacement_chi2(draws, other)[0] > 10 * dof  # the flag changes the draws


def test_whole_words_match_fairseq():
    """--mask-whole-words: words (a ▁ symbol and what follows it) are selected whole; the number of selected words
    is fairseq's probabilistic rounding of p x words; per-position rates agree with fairseq's."""
    d, mask_idx = vocabulary(word_start_every=3)
    table = torch.tensor([i < d.nspecial or d[i].startswith("\u2581") for i in range(len(d))])
    rows, n = 3000, 33
    tokens = random_rows(d, rows, n, seed=3)
    options = dict(mask_prob=0.3, **BERT)
    theirs = fairseq_masks(d, mask_idx, tokens, word_starts=table, **options)
    ours = our_masks(d, mask_idx, tokens, word_starts=table, **options)
    starts = table[tokens]
    word = starts.cumsum(1) - 1
    words = starts.sum(1)
    for source, target in (theirs, ours):
        selected = target.ne(d.pad())
        chosen_words = (selected & starts).sum(1)
        low = torch.floor(0.3 * words)
        assert torch.all((chosen_words == low) | (chosen_words == low + 1))
        # every token carries its word's selection: compare with the selection of the word's first token
        first_of_word = torch.zeros(rows, n, dtype=torch.long).scatter_add_(1, word, (selected & starts).long())
        assert torch.equal(selected, first_of_word.gather(1, word).bool())
        masked_words = (source.eq(mask_idx) & starts).sum().item()
        close(masked_words / chosen_words.sum().item(), 0.8, math.sqrt(0.16 / chosen_words.sum().item()))
    rate = [target.ne(d.pad()).float().mean(0) for _, target in (theirs, ours)]
    assert (rate[0] - rate[1]).abs().max().item() <= Z * math.sqrt(2 * 0.25 / rows)


@pytest.mark.parametrize("stdev", [0.0, 1.5])
def test_spans_match_fairseq(stdev):
    """--mask-multiple-length 3 (--mask-stdev 0 / 1.5): p n / 3 starts, spans cut at the row's end, overlaps
    merged: the covered fraction and the per-position rates (lower at the row's start) agree with fairseq's."""
    d, mask_idx = vocabulary()
    rows, n = 3000, 31
    tokens = random_rows(d, rows, n, seed=4)
    options = dict(mask_prob=0.3, mask_multiple_length=3, mask_stdev=stdev)
    rates = []
    for source, target in (fairseq_masks(d, mask_idx, tokens, **options), our_masks(d, mask_idx, tokens, **options)):
        selected = target.ne(d.pad())
        assert torch.equal(source.eq(mask_idx), selected)
        rates.append(selected.float().mean(0))
    assert rates[1][0] < rates[1][5]  # a span reaches position 0 only from a start there
    assert (rates[0] - rates[1]).abs().max().item() <= Z * math.sqrt(2 * 0.25 / rows)
    close(rates[0].mean().item(), rates[1].mean().item(), math.sqrt(2 * 0.25 / rows / n * 3))


@pytest.mark.parametrize("options", [BERT, dict(span_length=3, span_stdev=1.0), dict(whole_words=True)])
def test_masks_depend_on_seed_epoch_index_only(options):
    """A row's mask is the same alone or in any batch (never reaching the padding), and changes with epoch and
    seed; with 80/10/10, spans, whole words."""
    d, mask_idx = vocabulary(word_start_every=3)
    tokens = random_rows(d, 24, 40, seed=5)
    lengths = torch.from_numpy(np.random.RandomState(5).randint(2, 41, size=24))
    lengths[0] = 40
    tokens = tokens.masked_fill(torch.arange(40) >= lengths[:, None], d.pad())
    options = dict(options)
    if options.pop("whole_words", False):
        options = dict(word_starts=torch.tensor([i < d.nspecial or d[i].startswith("\u2581") for i in range(len(d))]))
    masker = BatchMasker(d, mask_idx, seed=3, mask_prob=0.3, **options)
    ids = list(range(10, 34))
    source, target = masker(tokens, lengths, ids, epoch=2)
    assert target[torch.arange(40) >= lengths[:, None]].eq(d.pad()).all()  # padding is never selected
    assert source[torch.arange(40) >= lengths[:, None]].eq(d.pad()).all()
    for b in range(24):
        alone = masker(tokens[b:b + 1, :lengths[b]], lengths[b:b + 1], [10 + b], epoch=2)
        assert torch.equal(alone[0][0], source[b, :lengths[b]]) and torch.equal(alone[1][0], target[b, :lengths[b]])
    other_epoch = masker(tokens, lengths, ids, epoch=3)[1]
    other_seed = BatchMasker(d, mask_idx, seed=4, mask_prob=0.3, **options)(tokens, lengths, ids, 2)[1]
    assert not torch.equal(other_epoch, target) and not torch.equal(other_seed, target)


def test_keyed_random_is_one_philox_stretch_per_item():
    keyed = KeyedRandom(7)
    first = keyed.for_item(3, 11, 2).random(5)
    keyed.for_item(3, 12, 2).random(3)  # another item in between
    assert np.array_equal(keyed.for_item(3, 11, 2).random(5), first)
    fresh = np.random.Generator(np.random.Philox(key=7, counter=np.array([0, 2, 11, 3], dtype=np.uint64)))
    assert np.array_equal(fresh.random(5), first)


# ------------------------------------------------------------------------------------------------ blocks

class NotMemoryMapped(BaseWrapperDataset):
    """The same lines through a reader that is not fairseq's mmap one (shards, legacy formats): read line by line."""


def lines_of(data):
    d = Dictionary.load(os.path.join(data, "dict.txt"))
    return data_utils.load_indexed_dataset(os.path.join(data, "train"), d), d


@pytest.mark.parametrize("break_mode", ["complete_doc", "none"])
def test_blocks_are_fairseqs_blocks(word_data_bin, break_mode):
    lines, d = lines_of(word_data_bin)
    assert (lines.sizes > 31).sum() > 10  # lines to shorten
    for shorten, reference in (("truncate", TruncateDataset(lines, 31)), ("none", lines)):
        ours = ShortenedTokenBlocks(lines, 31, break_mode, d.pad(), d.eos(), shorten=shorten, max_line=31, seed=1)
        theirs = TokenBlockDataset(reference, reference.sizes, 31, d.pad(), d.eos(), break_mode=break_mode)
        assert np.array_equal(ours.sizes, theirs.sizes)
        assert all(torch.equal(ours[i], theirs[i]) for i in range(len(ours)))


def test_random_crop_windows(word_data_bin):
    """Blocks without an over-long line are fairseq's; an over-long line becomes a window of itself that moves
    with the epoch, is the same for the same (seed, epoch), and is read the same line by line."""
    lines, d = lines_of(word_data_bin)
    fairseq_blocks = TokenBlockDataset(RandomCropDataset(lines, 31, 1), np.minimum(lines.sizes, 31), 31, d.pad(),
                                       d.eos(), break_mode="complete_doc")
    ours = ShortenedTokenBlocks(lines, 31, "complete_doc", d.pad(), d.eos(), shorten="random_crop", max_line=31,
                                seed=1)
    by_line = ShortenedTokenBlocks(NotMemoryMapped(lines), 31, "complete_doc", d.pad(), d.eos(),
                                   shorten="random_crop", max_line=31, seed=1)
    assert ours._one_slice.any() and not by_line._one_slice.any()
    cropped = 0
    for i in range(len(ours)):
        first, _, last = ours.block_to_dataset_index[i]
        if lines.sizes[first:last + 1].max() <= 31:
            assert torch.equal(ours[i], fairseq_blocks[i])
            continue
        cropped += 1
        assert first == last  # a shortened line fills its block
        line = lines[int(first)]
        assert any(ours[i].tolist() == line[s:s + 31].tolist() for s in range(len(line) - 30))
        assert torch.equal(ours[i], by_line[i])
        starts = set()
        for epoch in range(1, 9):
            ours.set_epoch(epoch)
            starts.add(next(s for s in range(len(line) - 30) if ours[i].tolist() == line[s:s + 31].tolist()))
        ours.set_epoch(1)
        assert len(starts) > 1 or len(line) == 32
    assert cropped > 5


# ------------------------------------------------------------------------------------------------ task

def make_task(data, **cfg):
    task = MaelmTask.setup_task(MaelmConfig(data=str(data), tokens_per_sample=64, seed=1, **cfg))
    task.load_dataset("train")
    return task


def batches(task, count=6):
    iterator = task.get_batch_iterator(task.dataset("train"), max_tokens=1024, seed=1, epoch=1)
    return [b for _, b in zip(range(count), iterator.next_epoch_itr(shuffle=True))]


def test_masking_flag_selects_the_path(word_data_bin):
    """--masking batched and per-sample batch the same samples (same ids, lengths and text, shortened by
    truncation so the windows agree); the masks differ, fairseq's coming from MaskTokensDataset."""
    batched = make_task(word_data_bin, shorten_method="truncate")
    per_sample = make_task(word_data_bin, shorten_method="truncate", masking="per-sample")
    source = per_sample.dataset("train").dataset.defn["net_input.src_tokens"]
    while not isinstance(source, MaskTokensDataset):
        source = source.dataset
    pad = batched.source_dictionary.pad()
    for ours, theirs in zip(batches(batched), batches(per_sample)):
        assert torch.equal(ours["id"], theirs["id"]) and ours["ntokens"] == theirs["ntokens"]
        assert torch.equal(ours["net_input"]["src_lengths"], theirs["net_input"]["src_lengths"])
        text = [torch.where(b["target"].ne(pad), b["target"], b["net_input"]["src_tokens"]) for b in (ours, theirs)]
        assert torch.equal(*text)
        assert not torch.equal(ours["target"], theirs["target"])
        assert ours.keys() == theirs.keys() and ours["net_input"].keys() == theirs["net_input"].keys()


@pytest.mark.parametrize("options, shortened", [({}, True), (dict(shorten_method="truncate"), True),
                                                 (dict(shorten_method="none"), False),
                                                 (dict(shorten_data_split_list="valid"), False),
                                                 (dict(shorten_data_split_list="valid,train"), True)])
def test_shortening_flags(word_data_bin, options, shortened):
    """--shorten-method and --shorten-data-split-list keep fairseq's meaning: over-long lines (complete_doc emits
    one as its own block) are shortened to fit T=64 unless the method is none or the split is not listed."""
    sizes = make_task(word_data_bin, **options).dataset("train").sizes
    assert (sizes.max() <= 64) == shortened


def runs_of_selected(batch, pad):
    """Lengths of the maximal runs of selected positions, and whether each run ends at its row's end."""
    selected = batch["target"].ne(pad)
    lengths = batch["net_input"]["src_lengths"]
    runs = []
    for row, n in zip(selected.tolist(), lengths.tolist()):
        run = 0
        for j, chosen in enumerate(row[:n] + [False]):
            if chosen:
                run += 1
            elif run:
                runs.append((run, j == n))
                run = 0
    return runs


@pytest.mark.parametrize("flag", ["mask_multiple_length", "mask_stdev", "freq_weighted_replacement",
                                  "leave_unmasked_prob", "random_token_prob"])
def test_masking_flags_reach_the_batches(word_data_bin, flag):
    """Each masking flag of the task changes its batches the way it should (dict ids are in frequency order)."""
    on = {"mask_multiple_length": dict(mask_multiple_length=3),
          "mask_stdev": dict(mask_multiple_length=3, mask_stdev=1.5),
          "freq_weighted_replacement": dict(random_token_prob=1.0, freq_weighted_replacement=True),
          "leave_unmasked_prob": dict(leave_unmasked_prob=1.0),
          "random_token_prob": dict(random_token_prob=1.0)}[flag]
    off = {"mask_stdev": dict(mask_multiple_length=3), "freq_weighted_replacement": dict(random_token_prob=1.0)}.get(
        flag, {})
    (with_flag, without) = (batches(make_task(word_data_bin, mask_prob=0.3, **options), count=4)
                            for options in (on, off))
    task = make_task(word_data_bin)
    pad, mask_idx = task.source_dictionary.pad(), task.mask_idx
    if flag in ("mask_multiple_length", "mask_stdev"):
        def short_inner_runs(bs):  # runs of 1-2 selected tokens away from the row's end
            return sum(run < 3 and not at_end for b in bs for run, at_end in runs_of_selected(b, pad))
        if flag == "mask_multiple_length":
            assert short_inner_runs(with_flag) == 0 and short_inner_runs(without) > 20
        else:
            assert short_inner_runs(with_flag) > 5 and short_inner_runs(without) == 0
        return
    selected = [b["target"].ne(pad) for b in with_flag]
    source = [b["net_input"]["src_tokens"][s] for b, s in zip(with_flag, selected)]
    original = [b["target"][s] for b, s in zip(with_flag, selected)]
    if flag == "leave_unmasked_prob":
        assert all(torch.equal(s, o) for s, o in zip(source, original))
    elif flag == "random_token_prob":
        assert not any(s.eq(mask_idx).any() for s in source) and sum(int(s.ne(o).sum()) for s, o in
                                                                      zip(source, original)) > 100
    else:
        uniform = torch.cat([b["net_input"]["src_tokens"][b["target"].ne(pad)] for b in without]).float().mean()
        assert torch.cat(source).float().mean() < 0.5 * uniform  # frequent symbols (small ids) drawn more


def sentencepiece_bin(tmp_path):
    """A tiny data-bin whose dict.txt holds sentencepiece pieces (▁ starts a word)."""
    d = Dictionary()
    for piece in ["\u2581the", "\u2581cat", "s", "\u2581sat", "\u2581on", "\u2581ma", "t", "ting", "\u2581a"]:
        d.add_symbol(piece, n=10)
    root = tmp_path / "sp-bin"
    root.mkdir()
    d.save(str(root / "dict.txt"))
    builder = make_builder(str(root / "train.bin"), impl="mmap", vocab_size=len(d))
    rng = np.random.RandomState(0)
    for _ in range(200):
        builder.add_item(torch.tensor(list(rng.randint(4, len(d), size=rng.randint(5, 20))) + [d.eos()]))
    builder.finalize(str(root / "train.idx"))
    return root


def test_whole_words_through_the_task(tmp_path, word_data_bin):
    data = sentencepiece_bin(tmp_path)
    task = make_task(data, mask_whole_words=True, mask_prob=0.4)
    d = task.source_dictionary
    starts = word_start_table(str(data), d)
    assert [d[i] for i in range(len(d)) if not starts[i]] == ["s", "t", "ting", "<mask>"]
    plain = make_task(data, mask_prob=0.4)
    split_words = 0
    for whole, single in zip(batches(task), batches(plain)):
        for b in (whole, single):
            tokens = torch.where(b["target"].ne(d.pad()), b["target"], b["net_input"]["src_tokens"])
            selected = b["target"].ne(d.pad())
            word = starts[tokens].cumsum(1)
            # a word is split when a continuation token's selection differs from the token before it
            split = (selected[:, 1:] != selected[:, :-1]) & ~starts[tokens[:, 1:]] & tokens[:, 1:].ne(d.pad())
            if b is whole:
                assert not split.any() and word.max() > 1
            else:
                split_words += int(split.sum())
    assert split_words > 0  # without the flag, words are cut


def test_word_starts_of_gpt2_and_refusal_elsewhere(tmp_path, word_data_bin):
    encoder = json.load(open(os.path.join(REPO, "tests", "fixtures", "gpt2", "encoder.json"), encoding="utf-8"))
    d = Dictionary()
    ids = sorted(encoder.values())[:300]
    for i in ids:
        d.add_symbol(str(i))
    d.add_symbol("madeupword0000")
    shutil.copy(os.path.join(REPO, "tests", "fixtures", "gpt2", "encoder.json"), tmp_path / "encoder.json")
    table = word_start_table(str(tmp_path), d)
    byte_string = {i: s for s, i in encoder.items()}
    assert [bool(table[d.index(str(i))]) for i in ids] == [byte_string[i].startswith("\u0120") for i in ids]
    assert table[:d.nspecial].all() and table[d.index("madeupword0000")]
    assert 0 < int(table.sum()) < len(d)
    with pytest.raises(UserInputError, match="--mask-whole-words: .*dict.txt has no sentencepiece pieces"):
        make_task(word_data_bin, mask_whole_words=True)


@pytest.mark.parametrize("options, message", [
    (dict(mask_multiple_length=0), "--mask-multiple-length must be at least 1"),
    (dict(mask_stdev=-1.0), "--mask-stdev must be at least 0"),
    (dict(mask_whole_words=True, masking="per-sample"), "--mask-whole-words needs --masking batched"),
    (dict(include_target_tokens=True), "--include-target-tokens (data2vec) is not read"),
])
def test_masking_options_refused_with_one_line(word_data_bin, options, message):
    with pytest.raises(UserInputError) as error:
        make_task(word_data_bin, **options)
    assert message in str(error.value) and "\n" not in str(error.value)
