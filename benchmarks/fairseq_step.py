"""fairseq-train's own training step, built and called the way `fairseq_cli/train.py` does, for the benchmarks.

Every fairseq system of `benchmarks/step_time.py` (ours and stock RoBERTa) is a `FairseqTrainStep`: its command line
goes through fairseq-train's parser (`options.get_training_parser` + `parse_args_and_arch`, the same namespace-to-
config conversion), `main()`'s build order (task, model, criterion, `Trainer`) and `train()`'s call,
`trainer.train_step(samples)` inside `metrics.aggregate("train_inner")`. So a benchmark row times what
`fairseq-train` runs, optimizer and criterion included.

Why this exists: the earlier harness built fairseq's `masked_lm` criterion from its dataclass,
`MaskedLmLoss(MaskedLmConfig(), task)`. Outside a composed config the dataclass keeps its `tpu` default, the
unresolved interpolation string '${common.tpu}', which is truthy, so the criterion took its TPU branch and ran the
LM head (d x V) on EVERY position instead of the ~15 % predicted ones: the step was ~1.6x what fairseq-train does
(benchmarks/README.md, "Harness against fairseq-train"). A run of `fairseq-train` itself is compared with this step
in tests/test_benchmark_fairseq_step.py (same classes, same FLOPs on the same batch).
"""
import logging
import time
from typing import Iterator, List, Sequence

import torch


def train_argv(data: str, arch: str, layers: int, dim: int, ffn: int, heads: int, seq_len: int, batch_size: int,
               mask_prob: float, stock: bool, sample_break_mode: str, device: str = "cpu", dtype: str = "fp32",
               seed: int = 1, extra: Sequence[str] = ()) -> List[str]:
    """fairseq-train's command line for one benchmarked system.

    stock: fairseq's own `roberta` with its `masked_lm` criterion and 80/10/10 masking; otherwise one of our
    architectures with criterion `maelm` (MAE-LM/3ML: every selected token becomes <mask>). All read batches of the
    `maelm` task (same blocks for every system; the model and criterion are what differ).
    """
    import maelm_fairseq

    argv = [data, "--user-dir", maelm_fairseq.__path__[0], "--task", "maelm", "--arch", arch,
            "--criterion", "masked_lm" if stock else "maelm",
            "--encoder-layers", layers, "--encoder-embed-dim", dim, "--encoder-ffn-embed-dim", ffn,
            "--encoder-attention-heads", heads, "--tokens-per-sample", seq_len, "--sample-break-mode",
            sample_break_mode, "--mask-prob", mask_prob, "--batch-size", batch_size, "--optimizer", "adam",
            "--adam-betas", "(0.9,0.98)", "--adam-eps", "1e-6", "--weight-decay", "0.01", "--lr", "1e-4",
            "--seed", seed, "--num-workers", 0, "--log-format", "none", "--disable-validation", "--no-save"]
    if stock:
        argv += ["--leave-unmasked-prob", 0.1, "--random-token-prob", 0.1]
    else:
        argv += ["--max-positions", max(seq_len, 512)]
    if device == "cpu":
        argv += ["--cpu"]
    if dtype != "fp32":
        argv += [precision_flag(dtype)]
    return [str(a) for a in argv] + [str(a) for a in extra]


def precision_flag(dtype: str) -> str:
    """fairseq-train's flag for a half precision (half weights, fp32 master copy in the optimizer)."""
    return {"fp16": "--fp16", "bf16": "--bf16"}[dtype]


def train_task(argv: Sequence[str]):
    """fairseq-train's config and task for `argv` (seeded as fairseq_cli.train.main seeds), its train split loaded."""
    import numpy as np
    from fairseq import options, tasks, utils
    from fairseq.dataclass.utils import convert_namespace_to_omegaconf

    import maelm_fairseq.tasks  # noqa: F401  registers the plugin (--user-dir finds it already imported)

    logging.getLogger("fairseq").setLevel(logging.WARNING)
    args = options.parse_args_and_arch(options.get_training_parser(), list(argv))
    cfg = convert_namespace_to_omegaconf(args)
    np.random.seed(cfg.common.seed)
    utils.set_torch_seed(cfg.common.seed)
    task = tasks.setup_task(cfg.task)
    task.load_dataset("train")
    return cfg, task


def collate(task, rows: Sequence[int]):
    """The batch of dataset rows `rows`, as the task's collater (masks included) gives it."""
    dataset = task.dataset("train")
    return dataset.collater([dataset[i] for i in rows])


class FairseqTrainStep:
    """One system as fairseq-train builds it from `argv`; `step(sample)` is one update of fairseq-train."""

    def __init__(self, argv: Sequence[str]):
        from fairseq.trainer import Trainer

        self.cfg, self.task = train_task(argv)  # fairseq_cli.train.main's order from here on
        self.model = self.task.build_model(self.cfg.model)
        self.criterion = self.task.build_criterion(self.cfg.criterion)
        self.trainer = Trainer(self.cfg, self.task, self.model, self.criterion)

    def step(self, sample) -> None:
        """One update on `sample` (a collated batch on the CPU; the trainer moves it, as in fairseq-train)."""
        self.step_on([sample])

    def step_on(self, samples) -> None:
        from fairseq.logging import metrics

        with metrics.aggregate("train_inner"):  # fairseq_cli.train.train's context around the step
            self.trainer.train_step(samples)

    def own_batches(self) -> Iterator[list]:
        """fairseq-train's own batches, endlessly: its epoch iterator grouped by --update-freq, as
        fairseq_cli.train.train iterates them (epoch after epoch)."""
        from fairseq.data import iterators

        cfg = self.cfg
        epoch_itr = self.trainer.get_train_iterator(epoch=1, load_dataset=False)
        while True:
            itr = epoch_itr.next_epoch_itr(fix_batches_to_gpus=cfg.distributed_training.fix_batches_to_gpus,
                                           shuffle=epoch_itr.next_epoch_idx > cfg.dataset.curriculum)
            update_freq = cfg.optimization.update_freq[min(epoch_itr.epoch, len(cfg.optimization.update_freq)) - 1]
            self.trainer.begin_epoch(epoch_itr.epoch)
            yield from iterators.GroupedIterator(itr, update_freq,
                                                 skip_remainder_batch=cfg.optimization.skip_remainder_batch)
            epoch_itr = self.trainer.get_train_iterator(epoch_itr.next_epoch_idx, load_dataset=False)


class FairseqTrainLoop:
    """fairseq-train's training loop itself, at a fixed shape: each `step()` takes the next batch of fairseq's own
    epoch iterator (untimed) and times `trainer.train_step` on it, as `fairseq_cli.train.train` calls it. The
    benchmark row of the same system and shape (same argv, the benchmark's rows) must agree with it."""

    def __init__(self, argv: Sequence[str], sync):
        self.system = FairseqTrainStep(argv)
        self.batches = self.system.own_batches()
        self.sync = sync

    def timed_step(self) -> float:
        samples = next(self.batches)
        self.sync()
        t0 = time.perf_counter()
        self.system.step_on(samples)
        self.sync()
        return time.perf_counter() - t0


def cuda_sync(device: str):
    return torch.cuda.synchronize if device == "cuda" else (lambda: None)
