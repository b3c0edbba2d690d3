"""The step benchmarks/step_time.py times for a fairseq system is fairseq-train's: a real `fairseq-train` run on the
same command line builds the same model, criterion and optimizer, its first batch is the first batch of the
benchmark's fairseq-train check, and its `Trainer.train_step` does the same FLOPs on the same batch as the
benchmark's step (benchmarks/fairseq_step.py). The FLOPs also equal our formula on full
blocks, so a criterion that projects every position through the LM head (the harness's 1.6x of issue 20: fairseq's
masked_lm criterion built outside a config runs its TPU branch; fairseq's own --bf16 did the same by implying --tpu,
fairseq_fixes.py 7.) fails here. Nothing is timed."""
import copy
import importlib.util
import os
import sys

import pytest
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import maelm_fairseq.tasks  # noqa: F401  registers the plugin (fairseq's --user-dir loader skips an imported package)
from helpers import REPO
from maelm_fairseq.analysis.flops import Shape, batch_train_flops

TINY = dict(layers=2, dim=32, ffn=64, heads=2, seq_len=32, batch_size=2)


def benchmark_module(name):
    """A benchmark script imported by path (benchmarks/ is scripts, not an installed package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, "benchmarks", f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def counted(fn):
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def run_fairseq_train(argv, monkeypatch):
    """fairseq-train's own main on `argv`; what each Trainer.train_step call saw: its batch (before the step), the
    FLOPs of the step and the classes the trainer holds."""
    from fairseq.trainer import Trainer
    from fairseq_cli import train

    calls, original = [], Trainer.train_step

    def spy(self, samples, raise_oom=False):
        before = copy.deepcopy(samples)
        result = {}
        result["flops"] = counted(lambda: result.setdefault("out", original(self, samples, raise_oom)))
        calls.append(dict(samples=before, flops=result["flops"], classes=classes(self)))
        return result["out"]

    monkeypatch.setattr(Trainer, "train_step", spy)
    monkeypatch.setattr(sys, "argv", ["fairseq-train"] + argv)
    torch.set_num_threads(1)
    train.cli_main()
    return calls


def classes(trainer):
    return (type(trainer.model), type(trainer.criterion), type(trainer.optimizer),
            type(getattr(trainer.optimizer, "optimizer", None)))


@pytest.mark.parametrize("arch,stock,mask_prob,decoder_layers,dtype",
                         [("roberta", True, 0.15, 0, "fp32"), ("maelm_roberta_base", False, 0.15, 0, "fp32"),
                          ("threeml_self_base", False, 0.5, 2, "fp32"),
                          ("roberta", True, 0.15, 0, "bf16")])  # gpu_check's precision: --bf16, here on the CPU
def test_benchmark_step_is_fairseq_train_step(word_data_bin, monkeypatch, tmp_path, arch, stock, mask_prob,
                                              decoder_layers, dtype):
    fairseq_step = benchmark_module("fairseq_step")
    argv = fairseq_step.train_argv(str(word_data_bin), arch, mask_prob=mask_prob, stock=stock,
                                   sample_break_mode="none", dtype=dtype, **TINY)
    calls = run_fairseq_train(argv + ["--max-update", "1", "--save-dir", str(tmp_path)], monkeypatch)
    assert len(calls) == 1
    seen = calls[0]

    loop = fairseq_step.FairseqTrainLoop(argv, sync=lambda: None)  # the benchmark's check row
    assert torch.equal(next(loop.batches)[0]["net_input"]["src_tokens"], seen["samples"][0]["net_input"]["src_tokens"])
    bench = loop.system  # a benchmark row steps this, on the benchmark's rows
    assert classes(bench.trainer) == seen["classes"]
    assert counted(lambda: bench.step(seen["samples"][0])) == seen["flops"]

    # full blocks, no padding: the executed FLOPs are the formula's, the LM head on the predicted positions only
    sample = seen["samples"][0]
    src, pad = sample["net_input"]["src_tokens"], bench.task.source_dictionary.pad()
    assert src.shape == (TINY["batch_size"], TINY["seq_len"]) and src.ne(pad).all()
    predicted = sample["target"].ne(pad).sum(1).tolist()
    deleted = src.eq(bench.task.mask_idx).sum(1).tolist() if decoder_layers else None
    if decoder_layers and len(set(deleted)) > 1:
        pytest.skip("rows deleted different counts: the encoder carries padding")  # not with this seed
    vocab = len(bench.task.source_dictionary)
    shape = Shape(TINY["layers"], TINY["dim"], TINY["ffn"], vocab, decoder_layers, last_layer_predicted=True)
    assert seen["flops"] == batch_train_flops(shape, [TINY["seq_len"]] * TINY["batch_size"], predicted, deleted)


def test_bf16_does_not_imply_tpu():
    """fairseq_fixes 7.: --bf16 alone keeps --tpu off (fairseq 0.12.2 turned it on); --tpu given stays on."""
    from fairseq import options

    import maelm_fairseq

    argv = ["unused", "--user-dir", maelm_fairseq.__path__[0], "--task", "maelm", "--arch", "maelm_tiny", "--bf16"]
    args = options.parse_args_and_arch(options.get_training_parser(), argv)
    assert args.bf16 and not args.tpu
    assert options.parse_args_and_arch(options.get_training_parser(), argv + ["--tpu"]).tpu
