"""Step time of the whole family, stock fairseq RoBERTa and Hugging Face peers, in one process, on the same rows.

    python benchmarks/step_time.py                                           # CPU, reduced size, complete_doc rows
    python benchmarks/step_time.py --size 6x384 --peers modernbert,roberta-hf --sample-break-mode none,complete_doc
    python benchmarks/step_time.py --device cuda --size base --seq-len 512 --dtype bf16 --peers modernbert,roberta-hf

Each fairseq system (ours and stock RoBERTa) is built from its fairseq-train command line and steps through
fairseq's own `Trainer.train_step` (benchmarks/fairseq_step.py): the benchmark times what fairseq-train runs. Each
Hugging Face peer (benchmarks/hf_peers.py) trains as transformers' Trainer does. All train on the same rows of the
pydoc-topics corpus, cut by the `maelm` task (`--sample-break-mode none`: full blocks; `complete_doc`: blocks of
uneven length), round robin (step i of every system back to back). Reported: the median step time after warm-up,
its ratio to the reference system (ModernBERT when given, else stock RoBERTa), the FLOPs of one step counted by
torch.utils.flop_counter.FlopCounterMode for every system next to our formula (maelm_fairseq/analysis/flops.py),
ms per GFLOP, and, on full blocks, fairseq-train's own loop timed alongside (its batches, its iterator) with the
ratio of each row to it. See benchmarks/README.md.
"""
import argparse
import json
import warnings
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import torch

# sibling scripts
from fairseq_step import FairseqTrainLoop, FairseqTrainStep, collate, cuda_sync, train_argv, train_task
from hf_peers import PEERS, HFTrainStep, build_peer
from maelm_fairseq.analysis.flops import PEAK_FLOPS, Shape, batch_train_flops
from maelm_fairseq.modules.transformer_layer import unpad_wanted

SIZES = {  # layers, dim, ffn, heads, default seq len, default batch (CPU, GPU), default vocab
    # reduced keeps base's depth (12 layers: the 2-layer decoder stays 1/6 of the encoder) and its head-to-layer
    # cost balance (V 24576 at d 384), so its FLOPs ratios are base's (3ML_self 0.80, MAE-LM 1.16)
    "reduced": dict(layers=12, dim=384, ffn=1536, heads=6, seq_len=256, batch=(4, 64), vocab=24576),
    # half of reduced's depth: the shape of the comparison with Hugging Face ModernBERT (issue 20)
    "6x384": dict(layers=6, dim=384, ffn=1536, heads=6, seq_len=256, batch=(8, 64), vocab=24576),
    # a smaller one with the same LM-head share of an MLM step's FLOPs (10.4 % vs 10.9 % at 6x384)
    "6x256": dict(layers=6, dim=256, ffn=1024, heads=4, seq_len=256, batch=(8, 64), vocab=16384),
    # the dry runs' (benchmarks/gpu_check.sh --dry-run, tests): every code path, no meaningful timing
    "tiny": dict(layers=2, dim=64, ffn=128, heads=2, seq_len=32, batch=(2, 2), vocab=500),
    "base": dict(layers=12, dim=768, ffn=3072, heads=12, seq_len=512, batch=(4, 32), vocab=50265),
    "large": dict(layers=24, dim=1024, ffn=4096, heads=16, seq_len=512, batch=(2, 16), vocab=50265),
}
ROW_KINDS = ("none", "complete_doc")


@dataclass(frozen=True)
class System:
    """One fairseq system: fairseq's own RoBERTa (`stock`) or one of our registered architectures; decoder depth
    and type come from the architecture (decoder_shape), never repeated here."""
    label: str
    arch: str
    mask_prob: float
    stock: bool = False


SYSTEMS = {
    "roberta": System("fairseq roberta (stock)", "roberta", 0.15, stock=True),
    "maelm_mlm": System("maelm_mlm", "maelm_roberta_base", 0.15),
    "maelm": System("MAE-LM p=0.15 dec4", "maelm_base", 0.15),
    "threeml_self": System("3ML_self p=0.5 dec2", "threeml_self_base", 0.5),
    "threeml_cross": System("3ML_cross p=0.5 dec2", "threeml_cross_base", 0.5),
}


def decoder_shape(system):
    """(decoder layers, decoder type) of the system's registered architecture."""
    if system.stock:
        return 0, "self"
    from fairseq.models import ARCH_CONFIG_REGISTRY

    import maelm_fairseq.tasks  # noqa: F401  registers the architectures

    args = argparse.Namespace()
    ARCH_CONFIG_REGISTRY[system.arch](args)
    return args.decoder_layers, args.decoder_type


def shape_of(name, size, vocab):
    """The FLOPs formula's Shape of fairseq system `name` at `size`, as our model trains (its last decoder layer at
    the predicted positions only)."""
    decoder_layers, decoder_type = decoder_shape(SYSTEMS[name])
    return Shape(size["layers"], size["dim"], size["ffn"], vocab, decoder_layers, decoder_type,
                 last_layer_predicted=True)


def comma_list(text):
    return [x.strip() for x in text.split(",") if x.strip()]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--size", choices=list(SIZES), default="reduced",
                   help="reduced: 12 layers, d 384; 6x384 / 6x256: 6 layers; base/large: RoBERTa's")
    p.add_argument("--dtype", choices=["fp32", "bf16", "fp16"], default="fp32",
                   help="bf16/fp16: fairseq-train's --bf16/--fp16 for fairseq systems, autocast for HF peers")
    p.add_argument("--steps", type=int, default=20, help="timed steps per system (median reported)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch-size", type=int, help="sequences per step (default by size and device)")
    p.add_argument("--seq-len", type=int, help="--tokens-per-sample (default by size)")
    p.add_argument("--vocab", type=int, help="dictionary size, corpus words padded with unused symbols "
                                             "(default by size)")
    p.add_argument("--systems", default=",".join(SYSTEMS), type=comma_list,
                   help=f"comma list of fairseq systems: {list(SYSTEMS)}")
    p.add_argument("--peers", default=[], type=comma_list, help=f"comma list of Hugging Face peers: {list(PEERS)}")
    p.add_argument("--sample-break-mode", default=["complete_doc"], type=comma_list,
                   help="comma list of row kinds: none (full blocks of --seq-len) and/or complete_doc (uneven "
                        "blocks); one table each")
    p.add_argument("--batches", choices=["uneven", "sorted"], default="uneven",
                   help="complete_doc rows: random blocks (padding) or fairseq's length-sorted batching")
    p.add_argument("--unpad", choices=["auto", "always", "never"], default="auto", help="our models' --unpad")
    p.add_argument("--compare-unpad", action="store_true",
                   help="also time our systems with --unpad never (the padded plain path)")
    p.add_argument("--fairseq-train-check", choices=["on", "off"], default="on",
                   help="on full blocks (none), also time fairseq-train's own loop for every fairseq system")
    p.add_argument("--model-args", default="", help="extra fairseq-train flags for our systems (e.g. opt-in "
                                                    "speed flags), space separated")
    p.add_argument("--variant", action="append", default=[], metavar="NAME=FLAGS",
                   help="also time each of our systems with these extra fairseq-train flags, labelled [NAME] "
                        "(repeatable), e.g. --variant 'no dropout=--dropout 0 --attention-dropout 0'")
    p.add_argument("--peak-tflops", type=float, help="for MFU (default: from the GPU name, H100 989)")
    p.add_argument("--threads", type=int, help="torch CPU threads (default 1 on CPU: fair under load)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", help="write OUT.md, OUT.json and OUT.png")
    args = p.parse_args(argv)
    bad = [v for v in args.variant if "=" not in v]
    if bad:
        p.error(f"--variant {bad[0]!r}: give NAME=FLAGS")
    unknown = [n for n in args.systems if n not in SYSTEMS] + [n for n in args.peers if n not in PEERS]
    unknown += [k for k in args.sample_break_mode if k not in ROW_KINDS]
    if unknown:
        p.error(f"unknown system, peer or row kind: {', '.join(unknown)}")
    return args


# ----------------------------------------------------------------------------------------------- data

def build_data_bin(vocab: int) -> str:
    """The pydoc-topics corpus, word-level, binarized by fairseq-preprocess; dict padded to `vocab` symbols."""
    from maelm_fairseq.data.demo_corpus import word_tokens, write_pretraining_corpus

    root = tempfile.mkdtemp(prefix="maelm_bench_")
    write_pretraining_corpus(root)
    with open(os.path.join(root, "train.txt")) as src, open(os.path.join(root, "train.tok"), "w") as out:
        for line in src:
            out.write(word_tokens(line) + "\n")
    bin_dir = os.path.join(root, "bin")
    words = vocab - 5  # fairseq specials (4) + <mask> added by the task
    subprocess.run([sys.executable, "-m", "fairseq_cli.preprocess", "--only-source", "--trainpref",
                    os.path.join(root, "train.tok"), "--destdir", bin_dir, "--nwordssrc", str(words),
                    "--workers", "2"], check=True, capture_output=True)
    with open(os.path.join(bin_dir, "dict.txt")) as f:
        n = sum(1 for _ in f)
    with open(os.path.join(bin_dir, "dict.txt"), "a") as f:  # as fairseq's own madeupword padding does
        for i in range(max(words - n, 0)):
            f.write(f"madeupword{i:05d} 0\n")
    return bin_dir


def pick_rows(dataset, batch_size, count, how, row_kind, seed):
    """Dataset indices of `count` batches: full blocks only for `none` (a fixed shape), random or
    length-sorted blocks for `complete_doc`."""
    sizes = [int(dataset.num_tokens(i)) for i in range(len(dataset))]
    rng = random.Random(seed)
    if row_kind == "none":
        full = [i for i, n in enumerate(sizes) if n == max(sizes)]
        return [rng.sample(full, batch_size) for _ in range(count)]
    if how == "uneven":
        return [rng.sample(range(len(sizes)), batch_size) for _ in range(count)]
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))
    chunks = [order[i:i + batch_size] for i in range(0, len(order) - batch_size + 1, batch_size)]
    return rng.sample(chunks, count)


def batch_stats(sample, pad, mask_idx, has_decoder, unpad):
    """Real lengths, predicted and deleted counts per row, and the padding our encoder would carry (and whether
    `--unpad` drops it, by the model's own rule, unpad_wanted)."""
    src = sample["net_input"]["src_tokens"]
    lengths = src.ne(pad).sum(1)
    predicted = sample["target"].ne(pad).sum(1)
    deleted = src.eq(mask_idx).sum(1) if has_decoder else torch.zeros_like(lengths)
    enc_len = lengths - deleted
    enc_width = int(enc_len.max())
    enc_pad_mask = torch.arange(enc_width).unsqueeze(0) >= enc_len.unsqueeze(1)
    return dict(lengths=lengths.tolist(), predicted=predicted.tolist(), deleted=deleted.tolist(),
                enc_tokens=int(enc_len.sum()), enc_slots=enc_width * src.size(0), input_tokens=int(lengths.sum()),
                unpadded=unpad is not None and unpad_wanted(unpad, enc_pad_mask))


# --------------------------------------------------------------------------------------------- systems

class Runner:
    """One timed row: a step function (fairseq's Trainer.train_step or a HF step) and the batches it trains on."""

    def __init__(self, name, label, step, samples, device, pad, formula=None, stats=None):
        self.name, self.label, self.step_fn, self.samples, self.device = name, label, step, samples, device
        self.pad = pad
        self.formula, self.stats = formula, stats  # our FLOPs formula per batch, batch_stats per batch (ours)
        self.times, self.cpu_times, self.i = [], [], 0

    def step(self, sample=None):
        self.step_fn(sample if sample is not None else self.samples[self.i % len(self.samples)])
        self.i += 1

    def timed_step(self):
        sync = cuda_sync(self.device)
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        self.step()
        sync()
        self.times.append(time.perf_counter() - t0)
        self.cpu_times.append(time.process_time() - c0)


class CheckRunner:
    """fairseq-train's own loop for one fairseq system (FairseqTrainLoop), timed in the same round robin."""

    def __init__(self, name, argv, device):
        self.name, self.loop, self.times = name, FairseqTrainLoop(argv, cuda_sync(device)), []

    def step(self):
        self.loop.timed_step()

    def timed_step(self):
        self.times.append(self.loop.timed_step())


def counted_flops(step, device):
    """FLOPs of one call of `step`, as torch's FlopCounterMode counts them. SDPA is forced to its math backend,
    whose matmuls the counter sees (the fused CPU kernel is opaque to it), and our varlen path is off."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from maelm_fairseq.modules import transformer_layer

    varlen, transformer_layer.varlen_attn = transformer_layer.varlen_attn, None
    try:
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            step()
            if device == "cuda":
                torch.cuda.synchronize()
    finally:
        transformer_layer.varlen_attn = varlen
    return counter.get_total_flops()


def fairseq_runner(name, label, trainer, rows, size, vocab, device):
    """A Runner of fairseq system `name` (built by fairseq-train's path) on dataset rows `rows`, with our formula's
    FLOPs and the padding statistics of each batch."""
    system = SYSTEMS[name]
    samples = [collate(trainer.task, r) for r in rows]
    shape = shape_of(name, size, vocab)
    d = trainer.task.source_dictionary
    unpad = None if system.stock else trainer.cfg.model.unpad
    stats = [batch_stats(s, d.pad(), trainer.task.mask_idx, shape.decoder_layers > 0, unpad) for s in samples]
    formula = [batch_train_flops(shape, s["lengths"], s["predicted"], s["deleted"]) for s in stats]
    return Runner(name, label, trainer.step, samples, device, d.pad(), formula, stats)


def n_batches(args):
    """Distinct batches each system cycles through (the same for all): 4, fewer for a run of fewer steps."""
    return max(1, min(4, args.steps))


def build_runners(args, size, data, row_kind, seq_len, batch_size, vocab):
    """Runners for every fairseq system and peer on the same rows, and the fairseq-train checks (full blocks)."""
    runs = []
    for n in args.systems:
        system = SYSTEMS[n]
        extra = [] if system.stock else ["--unpad", args.unpad] + args.model_args.split()
        runs.append((n, system.label, extra, True))
        if args.compare_unpad and not system.stock and args.unpad != "never":
            runs.append((n, system.label + " [unpad never]", ["--unpad", "never"] + args.model_args.split(), False))
        for variant in [] if system.stock else args.variant:
            name, flags = variant.split("=", 1)
            runs.append((n, f"{system.label} [{name.strip()}]", extra + flags.split(), True))

    def argv_of(name, extra):
        system = SYSTEMS[name]
        return train_argv(data, system.arch, size["layers"], size["dim"], size["ffn"], size["heads"], seq_len,
                          batch_size, system.mask_prob, system.stock, row_kind, args.device, args.dtype, args.seed,
                          extra)

    runners, checks, rows = [], [], None
    for name, label, extra, checked in runs:
        argv = argv_of(name, extra)
        trainer = FairseqTrainStep(argv)
        if rows is None:  # every system reads the same blocks (the task cuts them the same way for any masking)
            rows = pick_rows(trainer.task.dataset("train"), batch_size, n_batches(args), args.batches, row_kind,
                             args.seed)
        runners.append(fairseq_runner(name, label, trainer, rows, size, vocab, args.device))
        if row_kind == "none" and args.fairseq_train_check == "on" and checked:
            checks.append((runners[-1], CheckRunner(name, argv, args.device)))

    if args.peers:
        # the peers read RoBERTa's masking (80/10/10 at p 0.15) of the same rows
        stock = next((r for r in runners if r.name == "roberta"), None)
        if stock is not None:
            stock_samples = stock.samples
        else:
            _, stock_task = train_task(argv_of("roberta", []))
            if rows is None:
                rows = pick_rows(stock_task.dataset("train"), batch_size, n_batches(args), args.batches, row_kind,
                                 args.seed)
            stock_samples = [collate(stock_task, r) for r in rows]
        d = load_dictionary(data)
        for name in args.peers:
            torch.manual_seed(args.seed)
            model = build_peer(name, size["layers"], size["dim"], size["ffn"], size["heads"], vocab, seq_len,
                               d.pad(), d.bos(), d.eos())
            hf = HFTrainStep(model, args.device, args.dtype, d.pad())
            runners.append(Runner(name, PEERS[name].label, hf.step, stock_samples, args.device, d.pad()))
    return runners, checks


def load_dictionary(data):
    from fairseq.data import Dictionary

    d = Dictionary.load(os.path.join(data, "dict.txt"))
    d.add_symbol("<mask>")
    return d


# ------------------------------------------------------------------------------------------- measuring

def measure(args, size, data, row_kind, seq_len, batch_size, vocab, peak):
    runners, checks = build_runners(args, size, data, row_kind, seq_len, batch_size, vocab)
    check_runners = [c for _, c in checks]
    everyone = runners + check_runners
    for _ in range(args.warmup):
        for r in everyone:
            r.step()
    # Round robin: step i of every row runs back to back, so a load change on a shared machine hits all alike.
    for i in range(args.steps):
        for r in everyone:
            r.timed_step()
        print(f"[{row_kind}] step {i + 1}/{args.steps}: " + "  ".join(f"{1e3 * r.times[-1]:.0f}" for r in everyone),
              flush=True)
    checked = {id(r): c for r, c in checks}
    return [result(r, checked.get(id(r)), args, peak) for r in runners]


def result(r, check, args, peak):
    counted = [counted_flops(lambda s=s: r.step(s), args.device) for s in r.samples]
    step_s = statistics.median(r.times)
    out = dict(system=r.name, label=r.label, step_s=step_s, step_s_min=min(r.times), step_s_max=max(r.times),
               step_times=r.times, cpu_s=statistics.median(r.cpu_times), cpu_times=r.cpu_times,
               counted_flops_per_step=statistics.mean(counted),
               formula_flops_per_step=statistics.mean(r.formula) if r.formula else None)
    out["ms_per_gflop"] = 1e3 * step_s / (out["counted_flops_per_step"] / 1e9)
    out["mfu"] = out["counted_flops_per_step"] / step_s / peak if peak else None
    out["achieved_tflops"] = out["counted_flops_per_step"] / step_s / 1e12
    tokens = [int(s["net_input"]["src_tokens"].ne(r.pad).sum()) for s in r.samples]
    out["tokens_per_s"] = statistics.mean(tokens) / step_s
    if r.stats:
        enc_tokens = sum(s["enc_tokens"] for s in r.stats)
        enc_slots = sum(s["enc_slots"] for s in r.stats)
        out["encoder_padding_fraction"] = 1 - enc_tokens / enc_slots
        out["encoder_padding_in_matmuls"] = sum(s["enc_slots"] - s["enc_tokens"] for s in r.stats
                                                if not s["unpadded"]) / enc_slots
    if check is not None:
        out["fairseq_train_step_s"] = statistics.median(check.times)
        out["fairseq_train_step_times"] = check.times
        out["over_fairseq_train"] = step_s / out["fairseq_train_step_s"]
    if args.device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        r.step(r.samples[0])
        torch.cuda.synchronize()
        out["peak_mem_mb"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return out


def add_ratios(results):
    """Step ratio to the reference row: ModernBERT when it ran, else stock fairseq RoBERTa, else the first row."""
    names = [r["system"] for r in results]
    ref = "modernbert" if "modernbert" in names else ("roberta" if "roberta" in names else names[0])
    base = results[names.index(ref)]
    for r in results:
        r["reference"] = base["label"]
        r["step_ratio"] = r["step_s"] / base["step_s"]
        r["cpu_ratio"] = r["cpu_s"] / base["cpu_s"]
        r["flops_ratio"] = r["counted_flops_per_step"] / base["counted_flops_per_step"]


# ---------------------------------------------------------------------------------------------- output

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def uptime():
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return None


def markdown(tables, m):
    dev = m["device_name"] if m["device"] == "cuda" else f"{m['cpu_model']}, {m['cpu_threads']} thread(s)"
    lines = [
        f"{m['device']} ({dev}), torch {m['torch']}, transformers {m['transformers']}, {m['dtype']}; size "
        f"{m['size']} (L={m['layers']}, d={m['dim']}, FFN {m['ffn']}, heads {m['heads']}, V={m['vocab']}), "
        f"T={m['seq_len']}, batch {m['batch_size']}; median of {m['steps']} round-robin steps after {m['warmup']} "
        f"warm-up. Load: `{m['uptime_before']}` before, `{m['uptime_after']}` after.",
        "",
    ]
    for row_kind, results in tables.items():
        ref = results[0]["reference"]
        kind = ("full blocks (`--sample-break-mode none`)" if row_kind == "none"
                else f"`complete_doc` blocks ({m['batches']})")
        eff = "MFU" if m["peak_flops"] else "TFLOP/s"
        cpu = m["device"] == "cpu"
        lines += [f"### {kind}", "",
                  f"| system | step ms | x {ref} | fairseq-train step ms (row / it) | FLOPs/step counted (G) | "
                  f"formula (G) | ms/GFLOP | input tok/s | {eff} |" + (" CPU ms (x ref) |" if cpu else ""),
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if cpu else "")]
        for r in results:
            check = (f"{1e3 * r['fairseq_train_step_s']:.0f} ({r['over_fairseq_train']:.3f})"
                     if "fairseq_train_step_s" in r else "-")
            formula = f"{r['formula_flops_per_step'] / 1e9:.1f}" if r["formula_flops_per_step"] else "-"
            e = f"{100 * r['mfu']:.1f} %" if r["mfu"] is not None else f"{r['achieved_tflops']:.3f}"
            lines.append(f"| {r['label']} | {1e3 * r['step_s']:.0f} | {r['step_ratio']:.3f} | {check} | "
                         f"{r['counted_flops_per_step'] / 1e9:.1f} | {formula} | {r['ms_per_gflop']:.2f} | "
                         f"{r['tokens_per_s']:.0f} | {e} |"
                         + (f" {1e3 * r['cpu_s']:.0f} ({r['cpu_ratio']:.3f}) |" if cpu else ""))
        lines.append("")
    lines += ["FLOPs counted: torch.utils.flop_counter.FlopCounterMode over one whole step (forward, backward, "
              "optimizer), SDPA on its math backend so attention is seen, padding included where a system computes "
              "it. Formula: maelm_fairseq/analysis/flops.py on the real tokens (matmuls only). fairseq-train step: "
              "fairseq's own epoch iterator and Trainer.train_step at the same shape, timed in the same round robin "
              "(full blocks only: its batches have the benchmark's shape there). CPU ms: the process's CPU time per "
              "step (median; one thread, so the compute itself, less sensitive to other jobs than the wall-clock "
              "step).", ""]
    return "\n".join(lines)


def plot(tables, m, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(tables), figsize=(6.5 * len(tables), 4.5), squeeze=False)
    for ax, (row_kind, results) in zip(axes[0], tables.items()):
        x = range(len(results))
        ax.bar(x, [1e3 * r["step_s"] for r in results], color="tab:blue")
        for i, r in enumerate(results):
            ax.text(i, 1e3 * r["step_s"], f"{r['ms_per_gflop']:.1f} ms/GF", ha="center", va="bottom", fontsize=7)
        ax.set_xticks(list(x), [r["label"] for r in results], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("step time (ms, median)")
        ax.set_title(f"{m['device']} {m['size']} T={m['seq_len']} B={m['batch_size']} {m['dtype']}: {row_kind}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None):
    args = parse_args(argv)
    for category in (UserWarning, FutureWarning, DeprecationWarning):  # hydra's and fairseq's, once per system
        warnings.filterwarnings("ignore", category=category)
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA device visible")
    if args.threads or device == "cpu":
        torch.set_num_threads(args.threads or 1)
    size = SIZES[args.size]
    seq_len = args.seq_len or size["seq_len"]
    batch_size = args.batch_size or size["batch"][device == "cuda"]
    peak = args.peak_tflops * 1e12 if args.peak_tflops else None
    if device == "cuda" and peak is None:
        peak = next((v for k, v in PEAK_FLOPS.items() if k in torch.cuda.get_device_name()), None)
    before = uptime()
    data = build_data_bin(args.vocab or size["vocab"])
    vocab = len(load_dictionary(data))
    tables = {}
    for row_kind in args.sample_break_mode:
        tables[row_kind] = measure(args, size, data, row_kind, seq_len, batch_size, vocab, peak)
        add_ratios(tables[row_kind])
    import transformers

    meta = dict(device=device, device_name=torch.cuda.get_device_name() if device == "cuda" else cpu_model(),
                cpu_model=cpu_model(), cpu_threads=torch.get_num_threads(), torch=torch.__version__,
                transformers=transformers.__version__, size=args.size, layers=size["layers"], dim=size["dim"],
                ffn=size["ffn"], heads=size["heads"], seq_len=seq_len, batch_size=batch_size, vocab=vocab,
                dtype=args.dtype, steps=args.steps, warmup=args.warmup, batches=args.batches,
                model_args=args.model_args, peak_flops=peak, uptime_before=before, uptime_after=uptime(),
                load_average=os.getloadavg() if hasattr(os, "getloadavg") else None)
    table = markdown(tables, meta)
    print("\n" + table)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out + ".json", "w") as f:
            json.dump(dict(meta=meta, results=tables), f, indent=1)
        with open(args.out + ".md", "w") as f:
            f.write(table)
        plot(tables, meta, args.out + ".png")
        print(f"wrote {args.out}.md, .json, .png")


if __name__ == "__main__":
    main()
