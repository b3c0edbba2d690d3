"""Build maelm / fairseq-roberta models in-process for unit tests, without data on disk."""
import argparse

import torch
from fairseq.data import Dictionary
from fairseq.models import ARCH_CONFIG_REGISTRY
from fairseq.tasks.sentence_prediction import SentencePredictionConfig, SentencePredictionTask

from helpers import TINY as TINY_RECIPE  # helpers puts the repo on sys.path for examples/recipes.py
from maelm_fairseq.models.maelm import MaelmModel
from maelm_fairseq.pretrain.task import MaelmConfig, MaelmTask
from maelm_fairseq.squad.task import SquadConfig, SquadTask

# The tiny model of examples/recipes.py as build()'s keyword arguments, with what these tests need on top: two layers,
# so that per-layer states, ranks and a layer stack are tested where one layer would hide an off-by-one, and no
# dropout, so that train-mode outputs and gradients compare exactly (a test that wants dropout sets it).
TINY = {**TINY_RECIPE.keywords(), "encoder_layers": 2, "dropout": 0.0, "attention_dropout": 0.0}


def dictionary(size=200):
    d = Dictionary()
    for i in range(size - 4):
        d.add_symbol(f"w{i}")
    return d


def pretraining_task(vocab=200, **cfg):
    return MaelmTask(MaelmConfig(data="unused", tokens_per_sample=64, **cfg), dictionary(vocab))


def finetuning_task(task):
    labels = Dictionary()
    labels.add_symbol("0")
    labels.add_symbol("1")
    return SentencePredictionTask(SentencePredictionConfig(data="unused", num_classes=2), task.dictionary, labels)


def arch_args(arch, **overrides):
    args = argparse.Namespace(arch=arch, **overrides)
    ARCH_CONFIG_REGISTRY[arch](args)
    return args


def build(arch, task, **overrides):
    return MaelmModel.build_model(arch_args(arch, **overrides), task)


def build_squad(arch, task, **overrides):
    """The model task `maelm_squad` builds on `task`'s dictionary: the encoder plus its span head."""
    return SquadTask(SquadConfig(data="unused"), task.dictionary).build_model(arch_args(arch, **overrides))


def batch(task, rows=4, length=24, mask_prob=0.3, seed=0):
    """Right-padded rows of random words starting with <s>; ~mask_prob of the words replaced by <mask>.
    Returns (src_tokens, target) with target = original id at masked positions, pad elsewhere."""
    g = torch.Generator().manual_seed(seed)
    d = task.dictionary
    pad = d.pad()
    lengths = [length - 3 * i for i in range(rows)]
    tokens = torch.full((rows, length), pad)
    for r, n in enumerate(lengths):
        tokens[r, :n] = torch.randint(d.nspecial, len(d) - 1, (n,), generator=g)
        tokens[r, 0] = d.bos()
    selectable = tokens.ne(pad) & tokens.ne(d.bos())
    masked = selectable & (torch.rand(tokens.shape, generator=g) < mask_prob)
    target = torch.where(masked, tokens, torch.full_like(tokens, pad))
    src = tokens.masked_fill(masked, task.mask_idx)
    return src, target
