"""`--optimizer torch_adamw` (maelm_fairseq/optim/torch_adamw.py): fairseq-train builds it from the adam flags, its
fused update equals torch's reference AdamW loop, and after a few steps it is where fairseq's own adam is (the two
differ only in where eps enters)."""
import copy

import torch
from fairseq import optim, options
from fairseq.dataclass.utils import convert_namespace_to_omegaconf

import maelm_fairseq
import maelm_fairseq.tasks  # noqa: F401  registers the plugin

FLAGS = ["--adam-betas", "(0.9,0.98)", "--adam-eps", "1e-6", "--weight-decay", "0.01", "--lr", "1e-3"]


def optimizer_from_command_line(name, params):
    argv = ["unused", "--user-dir", maelm_fairseq.__path__[0], "--task", "maelm", "--arch", "maelm_tiny",
            "--optimizer", name] + FLAGS
    cfg = convert_namespace_to_omegaconf(options.parse_args_and_arch(options.get_training_parser(), argv))
    return optim.build_optimizer(cfg.optimizer, params)


def train(optimizer, params, steps=3):
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=g)
        optimizer.step()
    return [p.detach().clone() for p in params]


def test_built_from_the_adam_flags_and_fused():
    params = [torch.nn.Parameter(torch.randn(3, 4))]
    fairseq_optimizer = optimizer_from_command_line("torch_adamw", params)
    inner = fairseq_optimizer.optimizer
    assert isinstance(inner, torch.optim.AdamW) and inner.defaults["fused"]
    assert (inner.defaults["betas"], inner.defaults["eps"], inner.defaults["weight_decay"],
            inner.defaults["lr"]) == ((0.9, 0.98), 1e-6, 0.01, 1e-3)


def test_update_equals_torch_adamw_and_fairseq_adam():
    torch.manual_seed(0)
    start = [torch.randn(50, 8), torch.randn(8)]
    ours = [torch.nn.Parameter(t.clone()) for t in start]
    reference = [torch.nn.Parameter(t.clone()) for t in start]
    fairseq_params = [torch.nn.Parameter(t.clone()) for t in start]
    a = train(optimizer_from_command_line("torch_adamw", ours), ours)
    b = train(torch.optim.AdamW(reference, lr=1e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.01,
                                foreach=False), reference)
    c = train(optimizer_from_command_line("adam", fairseq_params), fairseq_params)
    for x, y, z, s in zip(a, b, c, start):
        torch.testing.assert_close(x, y, rtol=1e-6, atol=1e-7)  # fused kernel = torch's plain loop
        torch.testing.assert_close(x, z, rtol=0, atol=2e-5)  # fairseq's adam: eps placement only (steps ~1e-3)
        assert not torch.equal(x, s)  # it did update
