"""Step time of the whole family against stock fairseq RoBERTa, in one process, on the same real-text batches.

    python benchmarks/step_time.py                                   # CPU, reduced size (~3-5 min on 2 cores)
    python benchmarks/step_time.py --device cuda --size base --dtype bf16 --batch-size 32
    python benchmarks/step_time.py --out benchmarks/results/cpu_reduced

Each system trains (forward + backward + AdamW step, fairseq's `masked_lm` criterion) on the same rows of the
pydoc-topics corpus, cut by fairseq's own data path (`--sample-break-mode complete_doc`, blocks of uneven length)
and masked by fairseq's MaskTokensDataset. After warm-up the median of --steps steps is reported, with input
tokens/s, peak memory, the theoretical training FLOPs per input token (maelm_fairseq/analysis/flops.py) and the step time
relative to stock RoBERTa next to the FLOPs ratio. See benchmarks/README.md.
"""
import argparse
import json
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


from maelm_fairseq.analysis.flops import PEAK_FLOPS, Shape, batch_train_flops, padded_train_flops
from maelm_fairseq.modules.transformer_layer import unpad_wanted

SIZES = {  # layers, dim, ffn, heads, default seq len, default batch (CPU, GPU), default vocab
    # reduced keeps base's depth (12 layers: the 2-layer decoder stays 1/6 of the encoder) and its head-to-layer
    # cost balance (V 24576 at d 384), so its FLOPs ratios are base's (3ML_self 0.80, MAE-LM 1.16)
    "reduced": dict(layers=12, dim=384, ffn=1536, heads=6, seq_len=256, batch=(4, 64), vocab=24576),
    "base": dict(layers=12, dim=768, ffn=3072, heads=12, seq_len=512, batch=(4, 32), vocab=50265),
    "large": dict(layers=24, dim=1024, ffn=4096, heads=16, seq_len=512, batch=(2, 16), vocab=50265),
}


@dataclass(frozen=True)
class System:
    """One benchmarked system: fairseq's own RoBERTa (`stock`) or one of our registered architectures; decoder depth
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


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--size", choices=list(SIZES), default="reduced",
                   help="reduced: 12 layers, d 384, T 256 (CPU default); base/large: RoBERTa's")
    p.add_argument("--dtype", choices=["fp32", "bf16", "fp16"], default="fp32",
                   help="bf16/fp16: autocast (fp32 master weights)")
    p.add_argument("--steps", type=int, default=20, help="timed steps (median reported)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch-size", type=int, help="sequences per step (default by size and device)")
    p.add_argument("--seq-len", type=int, help="--tokens-per-sample (default by size)")
    p.add_argument("--vocab", type=int, help="dictionary size, corpus words padded with unused symbols "
                                             "(default 24576 reduced, 50265 base/large)")
    p.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma list of {list(SYSTEMS)}")
    p.add_argument("--batches", choices=["uneven", "sorted"], default="uneven",
                   help="uneven: random complete_doc blocks (padding); sorted: fairseq's length-sorted batching")
    p.add_argument("--unpad", choices=["auto", "always", "never"], default="auto", help="our models' --unpad")
    p.add_argument("--compare-unpad", action="store_true",
                   help="also time our systems with --unpad never (the padded plain path)")
    p.add_argument("--peak-tflops", type=float, help="for MFU (default: from the GPU name, H100 989)")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", help="write OUT.md, OUT.json and OUT.png")
    return p.parse_args()


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


def make_task(data, seq_len, mask_prob, stock):
    from maelm_fairseq.pretrain.task import MaelmConfig, MaelmTask

    # stock: masked_lm's 80/10/10; ours with a decoder: every selected token becomes <mask> (MAE-LM / 3ML)
    extra = dict(leave_unmasked_prob=0.1, random_token_prob=0.1) if stock else {}
    cfg = MaelmConfig(data=data, tokens_per_sample=seq_len, mask_prob=mask_prob, seed=1, **extra)
    task = MaelmTask.setup_task(cfg)
    task.load_dataset("train")
    return task


def pick_rows(task, batch_size, n_batches, how, seed):
    ds = task.dataset("train")
    sizes = [int(ds.num_tokens(i)) for i in range(len(ds))]
    rng = random.Random(seed)
    if how == "uneven":
        return [rng.sample(range(len(sizes)), batch_size) for _ in range(n_batches)]
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))
    chunks = [order[i:i + batch_size] for i in range(0, len(order) - batch_size + 1, batch_size)]
    return rng.sample(chunks, n_batches)


def padding_fraction(task, batches):
    """Padded fraction of full-length (B, T_max) batches, as stock RoBERTa's encoder sees them."""
    ds = task.dataset("train")
    real = slots = 0
    for rows in batches:
        lengths = [int(ds.num_tokens(i)) for i in rows]
        real, slots = real + sum(lengths), slots + max(lengths) * len(lengths)
    return 1 - real / slots


def collate(task, rows, device):
    ds = task.dataset("train")
    sample = ds.collater([ds[i] for i in rows])
    sample["net_input"]["src_tokens"] = sample["net_input"]["src_tokens"].to(device)
    sample["target"] = sample["target"].to(device)
    return sample


# --------------------------------------------------------------------------------------------- models

def build_model(name, size, task, seq_len, unpad):
    import argparse as ap

    from fairseq.models import ARCH_CONFIG_REGISTRY
    from fairseq.models.roberta import RobertaModel

    from maelm_fairseq.models.maelm import MaelmModel

    system = SYSTEMS[name]
    dims = dict(encoder_layers=size["layers"], encoder_embed_dim=size["dim"], encoder_ffn_embed_dim=size["ffn"],
                encoder_attention_heads=size["heads"], max_positions=max(seq_len, 512))
    args = ap.Namespace(arch=system.arch, **dims)
    if system.stock:
        from fairseq.models.roberta.model import base_architecture

        base_architecture(args)
        return RobertaModel.build_model(args, task)
    args.unpad = unpad
    ARCH_CONFIG_REGISTRY[system.arch](args)
    return MaelmModel.build_model(args, task)


def shape_of(name, size, vocab):
    decoder_layers, decoder_type = decoder_shape(SYSTEMS[name])
    return Shape(size["layers"], size["dim"], size["ffn"], vocab, decoder_layers, decoder_type)


def batch_stats(sample, task, has_decoder, unpad):
    """Real lengths, predicted and deleted counts per row, the padding the encoder would carry, and whether our
    encoder drops it under `--unpad` (the model's own rule, unpad_wanted)."""
    src = sample["net_input"]["src_tokens"]
    pad = task.dictionary.pad()
    real = src.ne(pad)
    lengths = real.sum(1)
    predicted = sample["target"].ne(pad).sum(1)
    deleted = src.eq(task.mask_idx).sum(1) if has_decoder else torch.zeros_like(lengths)
    enc_len = lengths - deleted
    enc_width = int(enc_len.max())
    enc_pad_mask = torch.arange(enc_width).unsqueeze(0) >= enc_len.unsqueeze(1)
    return dict(lengths=lengths.tolist(), predicted=predicted.tolist(), deleted=deleted.tolist(),
                enc_tokens=int(enc_len.sum()), enc_slots=enc_width * src.size(0), input_tokens=int(lengths.sum()),
                unpadded=unpad is not None and unpad_wanted(unpad, enc_pad_mask))


# ------------------------------------------------------------------------------------------- measuring

def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def saved_activation_bytes(step):
    """Bytes saved for backward during one step (distinct storages): the activation part of peak memory on
    CPU, where torch has no allocator statistics."""
    seen = {}

    def pack(t):
        try:
            storage = t.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
        except (RuntimeError, NotImplementedError):
            pass
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return sum(seen.values())


def index_ops_time(sample, task, dim, device, repeats=20):
    """Forward + backward time of the deletion (sort + gathers) and the restore (cumsum + gather + where) of
    `masked_forward` in isolation, at this batch's shape."""
    from maelm_fairseq.models.maelm import delete_masked, restore_masked

    src = sample["net_input"]["src_tokens"]
    pad = task.dictionary.pad()
    positions = torch.arange(src.size(1), device=device).expand_as(src)
    mask_vector = torch.zeros(dim, device=device, requires_grad=True)

    def once():
        is_mask = src.eq(task.mask_idx)
        keep = ~(src.eq(pad) | is_mask)
        enc_pad, (enc_tokens, enc_positions) = delete_masked(keep, pad, src, positions)
        enc_out = torch.randn(enc_tokens.size(0), enc_tokens.size(1), dim, device=device, requires_grad=True)
        full = restore_masked(enc_out, keep, is_mask, mask_vector)
        full.backward(torch.ones_like(full))

    for _ in range(3):
        once()
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        once()
        sync(device)
        times.append(time.perf_counter() - t0)
    # the randn of the stand-in encoder output is not part of the model's cost: time it alone and subtract
    t_rand = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        torch.randn(src.size(0), src.size(1), dim, device=device)
        sync(device)
        t_rand.append(time.perf_counter() - t0)
    return max(statistics.median(times) - statistics.median(t_rand), 0.0)


class Runner:
    """One system ready to train: model, AdamW, its batches (the same rows for every system)."""

    def __init__(self, name, label, args, size, tasks, rows_per_batch, device, seq_len, vocab, unpad):
        from fairseq.criterions.masked_lm import MaskedLmConfig, MaskedLmLoss

        self.name, self.label, self.unpad, self.device, self.size, self.vocab = name, label, unpad, device, size, vocab
        system = SYSTEMS[name]
        self.stock, self.p = system.stock, system.mask_prob
        self.decoder = decoder_shape(system)[0] > 0
        self.task = tasks[(self.p, self.stock)]
        torch.manual_seed(args.seed)
        self.model = build_model(name, size, self.task, seq_len, unpad).to(device).train()
        self.criterion = MaskedLmLoss(MaskedLmConfig(), self.task)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-4, **({"fused": True} if device == "cuda" else {}))
        self.samples = [collate(self.task, rows, device) for rows in rows_per_batch]
        self.amp = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[args.dtype]
        self.times, self.i = [], 0

    def step(self, sample=None):
        sample = sample or self.samples[self.i % len(self.samples)]
        with torch.autocast(device_type=self.device, dtype=self.amp, enabled=self.amp is not None):
            loss, _, _ = self.criterion(self.model, sample)
        loss.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)

    def timed_step(self):
        sync(self.device)
        t0 = time.perf_counter()
        self.step()
        sync(self.device)
        self.times.append(time.perf_counter() - t0)
        self.i += 1

    def peak_memory(self):
        if self.device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
            self.step(self.samples[0])
            torch.cuda.synchronize()
            return torch.cuda.max_memory_allocated(), f"allocator peak ({base / 2 ** 20:.0f} MB before the step)"
        params = sum(p.numel() * p.element_size() for p in self.model.parameters())
        return 4 * params + saved_activation_bytes(lambda: self.step(self.samples[0])), \
            "params+grads+Adam+saved activations"

    def result(self, steps):
        peak, peak_kind = self.peak_memory()
        ours = not self.stock
        stats = [batch_stats(s, self.task, self.decoder, self.unpad if ours else None) for s in self.samples]
        shape = shape_of(self.name, self.size, self.vocab)
        theory = [batch_train_flops(shape, s["lengths"], s["predicted"], s["deleted"]) for s in stats]
        padded = [padded_train_flops(shape, s["lengths"], s["predicted"], s["deleted"]) for s in stats]
        tokens = [s["input_tokens"] for s in stats]
        mean = lambda xs: statistics.mean(xs[i % len(xs)] for i in range(steps))  # noqa: E731  as the steps ran
        step_s = statistics.median(self.times)
        pad_frac = 1 - sum(s["enc_tokens"] for s in stats) / sum(s["enc_slots"] for s in stats)
        padded_slots = sum(s["enc_slots"] - s["enc_tokens"] for s in stats if not s["unpadded"])
        index_s = index_ops_time(self.samples[0], self.task, self.size["dim"], self.device) if self.decoder else 0.0
        return dict(
            system=self.name, label=self.label, unpad=self.unpad if ours else "n/a", mask_prob=self.p,
            step_s=step_s, step_s_min=min(self.times), step_s_max=max(self.times), step_times=self.times,
            tokens_per_s=mean(tokens) / step_s, theory_flops_per_token=sum(theory) / sum(tokens),
            theory_flops_per_step=mean(theory), padded_flops_per_step=mean(padded),
            achieved_tflops=mean(theory) / step_s / 1e12,
            peak_mem_mb=peak / 2 ** 20, peak_mem_kind=peak_kind,
            encoder_padding_fraction=pad_frac,
            encoder_padding_in_matmuls=padded_slots / sum(s["enc_slots"] for s in stats),
            index_ops_s=index_s, index_ops_fraction=index_s / step_s,
        )


def measure(args, device, size, seq_len, batch_size, vocab, names):
    """Train every system on the same rows, round robin; returns their result dicts (without ratios), the vocabulary
    actually used and the padding of full-length batches under each batching."""
    import maelm_fairseq.tasks  # noqa: F401  registers the plugin

    data = build_data_bin(vocab)
    probs = {(SYSTEMS[n].mask_prob, SYSTEMS[n].stock) for n in names}
    tasks = {key: make_task(data, seq_len, key[0], key[1]) for key in sorted(probs)}
    vocab = len(next(iter(tasks.values())).dictionary)
    any_task = next(iter(tasks.values()))
    rows = pick_rows(any_task, batch_size, 4, args.batches, args.seed)
    padding_by_batching = {how: padding_fraction(any_task, pick_rows(any_task, batch_size, 50, how, args.seed))
                           for how in ("uneven", "sorted")}

    runs = []
    for n in names:
        runs.append((n, SYSTEMS[n].label, args.unpad))
        if args.compare_unpad and not SYSTEMS[n].stock and args.unpad != "never":
            runs.append((n, SYSTEMS[n].label + " [unpad never]", "never"))
    runners = [Runner(n, label, args, size, tasks, rows, device, seq_len, vocab, unpad) for n, label, unpad in runs]
    for _ in range(args.warmup):
        for r in runners:
            r.step()
    # Round robin: step i of every system runs back to back, so a load change on a shared machine hits all alike.
    for i in range(args.steps):
        for r in runners:
            r.timed_step()
        print(f"step {i + 1}/{args.steps}: " + "  ".join(f"{1e3 * r.times[-1]:.0f}" for r in runners), flush=True)
    return [r.result(args.steps) for r in runners], vocab, padding_by_batching


def add_ratios(results, peak):
    """FLOPs and step-time ratios against stock RoBERTa, and MFU when the peak is known."""
    base = next(r for r in results if r["system"] == "roberta")
    for r in results:
        r["theory_ratio"] = r["theory_flops_per_step"] / base["theory_flops_per_step"]
        r["measured_ratio"] = r["step_s"] / base["step_s"]
        r["measured_over_theory"] = r["measured_ratio"] / r["theory_ratio"]
        r["mfu"] = r["theory_flops_per_step"] / r["step_s"] / peak if peak else None


def write_outputs(results, meta, out):
    table = markdown(results, meta)
    print("\n" + table)
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out + ".json", "w") as f:
            json.dump(dict(meta=meta, results=results), f, indent=1)
        with open(out + ".md", "w") as f:
            f.write(table)
        plot(results, meta, out + ".png")
        print(f"wrote {out}.md, .json, .png")


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda: no CUDA device visible")
    size = SIZES[args.size]
    seq_len = args.seq_len or size["seq_len"]
    batch_size = args.batch_size or size["batch"][device == "cuda"]
    names = [n.strip() for n in args.systems.split(",") if n.strip()]
    if "roberta" not in names:
        names.insert(0, "roberta")  # everything is reported relative to it

    results, vocab, padding_by_batching = measure(args, device, size, seq_len, batch_size,
                                                  args.vocab or size["vocab"], names)
    peak = args.peak_tflops * 1e12 if args.peak_tflops else None
    if device == "cuda" and peak is None:
        gpu = torch.cuda.get_device_name()
        peak = next((v for k, v in PEAK_FLOPS.items() if k in gpu), None)
    add_ratios(results, peak)
    meta = dict(
        device=device, device_name=(torch.cuda.get_device_name() if device == "cuda" else platform.processor()
                                    or platform.machine()),
        cpu_threads=torch.get_num_threads(), torch=torch.__version__, size=args.size, layers=size["layers"],
        dim=size["dim"], ffn=size["ffn"], heads=size["heads"], seq_len=seq_len, batch_size=batch_size,
        vocab=vocab, dtype=args.dtype, steps=args.steps, warmup=args.warmup, batches=args.batches,
        load_average=os.getloadavg() if hasattr(os, "getloadavg") else None, peak_flops=peak,
        cpu_model=cpu_model(), full_length_padding_fraction=padding_by_batching,
    )
    write_outputs(results, meta, args.out)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def markdown(results, m):
    dev = m["device_name"] if m["device"] == "cuda" else f"{m['cpu_model']}, {m['cpu_threads']} threads"
    lines = [
        f"{m['device']} ({dev}), torch {m['torch']}, {m['dtype']}; size {m['size']} (L={m['layers']}, "
        f"d={m['dim']}, f={m['ffn']}, V={m['vocab']}), T={m['seq_len']}, batch {m['batch_size']} "
        f"({m['batches']} complete_doc blocks), median of {m['steps']} steps after {m['warmup']} warm-up; "
        f"load average at the end {tuple(round(x, 2) for x in m['load_average'] or ())}",
        "",
        "| system | step ms | input tok/s | peak MB | theory GFLOP/token | FLOPs ratio | step ratio | "
        "step/FLOPs | enc. padding (matmuls) | mask/delete/scatter | " + ("MFU |" if m["peak_flops"] else "TFLOP/s |"),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        eff = f"{100 * r['mfu']:.1f} %" if r["mfu"] is not None else f"{r['achieved_tflops']:.3f}"
        idx = f"{100 * r['index_ops_fraction']:.2f} %" if r["index_ops_s"] else "-"
        pad = f"{100 * r['encoder_padding_fraction']:.1f} % ({100 * r['encoder_padding_in_matmuls']:.1f} %)"
        lines.append(
            f"| {r['label']} | {1e3 * r['step_s']:.1f} | {r['tokens_per_s']:.0f} | {r['peak_mem_mb']:.0f} | "
            f"{r['theory_flops_per_token'] / 1e9:.3f} | {r['theory_ratio']:.3f} | {r['measured_ratio']:.3f} | "
            f"{r['measured_over_theory']:.3f} | {pad} | {idx} | {eff} |")
    lines += ["", f"peak MB: {results[0]['peak_mem_kind']}. FLOPs ratio / step ratio: vs stock RoBERTa on the "
                  "same rows. step/FLOPs = step ratio / FLOPs ratio (1.00 = time follows theory). enc. padding: "
                  "padded fraction of the encoder's (B, width) input; in brackets what is left in the "
                  "projections/FFN after --unpad. Padding of full-length batches over 50 batches of this size: "
                  f"{100 * m['full_length_padding_fraction']['uneven']:.1f} % for random complete_doc blocks, "
                  f"{100 * m['full_length_padding_fraction']['sorted']:.1f} % with fairseq's length-sorted "
                  "batching.", ""]
    return "\n".join(lines)


def plot(results, m, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [r["label"] for r in results]
    x = range(len(results))
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.5))
    a.bar(x, [1e3 * r["step_s"] for r in results], color="tab:blue")
    a.set_xticks(list(x), labels, rotation=30, ha="right", fontsize=8)
    a.set_ylabel("step time (ms, median)")
    a.set_title(f"{m['device']} {m['size']} T={m['seq_len']} B={m['batch_size']} {m['dtype']}")
    w = 0.4
    b.bar([i - w / 2 for i in x], [r["theory_ratio"] for r in results], w, label="theoretical FLOPs ratio")
    b.bar([i + w / 2 for i in x], [r["measured_ratio"] for r in results], w, label="measured step-time ratio")
    b.axhline(1.0, color="gray", lw=0.8)
    b.set_xticks(list(x), labels, rotation=30, ha="right", fontsize=8)
    b.set_ylabel("relative to stock fairseq RoBERTa")
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
