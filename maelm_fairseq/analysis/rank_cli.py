"""maelm-rank: per-layer effective rank of real-token representations, on inputs with and without [MASK] tokens.

MAE-LM's Figure 1 / Lemma 2.1 analysis, for our checkpoints (any task: pretraining, GLUE, SQuAD) and stock fairseq
RoBERTa checkpoints. For each checkpoint, the encoder (never a decoder) runs on blocks of the data-bin twice:

  without_mask  the original tokens;
  with_mask     a fraction --mask-prob of the ordinary tokens (not <s>, </s>, padding) replaced by <mask>, exactly
                round(p * n) per block, as masked-LM pretraining sees its input (seeded: the same positions for
                every checkpoint).

The ranked set is the same in both conditions: the real tokens that are NOT masked in with_mask, so the two curves
differ only by the presence of [MASK]s in the input. Layer 0 is the embedding output (after its LayerNorm), layer i
the output of encoder layer i. Rows of [MASK] positions (condition mask_tokens) are ranked too, with where they sit
relative to the real tokens (see maelm_fairseq.analysis.effective_rank.mask_subspace_stats).

Memory is bounded: only C x C Gram matrices per layer are kept (float64), whatever --max-tokens is.

    maelm-rank CHECKPOINT [CHECKPOINT ...] --data DATA_BIN --out PREFIX [--name NAME ...] [--max-tokens 50000]
    maelm-rank --plot A.json B.json --out PREFIX          # one plot from earlier results

Writes PREFIX.json, PREFIX.csv and PREFIX.png (layers on x, effective rank on y, one line per model/condition).
"""
import argparse
import csv
import json
import logging
import os
import sys

import torch

from ..errors import UserInputError, console_main
from .effective_rank import ENERGY_FRACTIONS, Gram, mask_subspace_stats, spectrum_stats

logger = logging.getLogger("maelm_fairseq.analysis.rank")
CONDITIONS = ("without_mask", "with_mask")


def load_encoder(checkpoint: str, data: str):
    """(model, dictionary) of a checkpoint, in eval mode; the task is re-created over `data`."""
    from .. import tasks  # noqa: F401  (registers our task/model/criterion for checkpoints that name them)
    from fairseq import checkpoint_utils

    if not os.path.isfile(checkpoint):
        raise UserInputError(f"{checkpoint}: no such checkpoint file")
    models, _, task = checkpoint_utils.load_model_ensemble_and_task([checkpoint], arg_overrides={"data": data})
    model = models[0].eval()
    dictionary = task.source_dictionary
    if not hasattr(getattr(model, "encoder", None), "sentence_encoder"):
        raise UserInputError(f"{checkpoint}: not a RoBERTa-style model (no encoder.sentence_encoder)")
    return model, dictionary


def hidden_states(model, tokens: torch.Tensor):
    """Hidden states (B, T, C) after the embeddings and after each encoder layer, for our encoder and fairseq's."""
    encoder = model.encoder.sentence_encoder
    out = encoder(tokens, return_all_hiddens=True)
    if isinstance(out, dict):  # fairseq TransformerEncoder: encoder_states are T x B x C
        return [s.transpose(0, 1) for s in out["encoder_states"]]
    return out[1]


def split_prefix(data: str, split: str) -> str:
    for prefix in (os.path.join(data, split), os.path.join(data, "input0", split)):
        if os.path.isfile(prefix + ".idx"):
            return prefix
    raise UserInputError(f"{data}: no {split}.idx/.bin (nor input0/{split}.idx); give a fairseq data-bin and --split")


def blocks(data: str, split: str, dictionary, tokens_per_sample: int):
    """Blocks of whole lines up to tokens_per_sample tokens, <s> prepended (RoBERTa's masked-LM input)."""
    from fairseq.data import PrependTokenDataset, TokenBlockDataset, data_utils

    dataset = data_utils.load_indexed_dataset(split_prefix(data, split), dictionary)
    if dataset is None or len(dataset) == 0:
        raise UserInputError(f"{data}: split {split} is empty or unreadable")
    dataset = TokenBlockDataset(dataset, dataset.sizes, tokens_per_sample - 1, pad=dictionary.pad(),
                                eos=dictionary.eos(), break_mode="complete")
    return PrependTokenDataset(dataset, dictionary.bos())


def batches(dataset, batch_size: int, pad: int):
    for start in range(0, len(dataset), batch_size):
        rows = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
        width = max(len(r) for r in rows)
        out = torch.full((len(rows), width), pad, dtype=torch.long)
        for i, r in enumerate(rows):
            out[i, :len(r)] = r
        yield out


def choose_masks(tokens: torch.Tensor, dictionary, prob: float, generator: torch.Generator) -> torch.Tensor:
    """Exactly round(prob * n) of each row's ordinary tokens (not <s>, </s>, <pad>), chosen at random."""
    special = tokens.eq(dictionary.pad()) | tokens.eq(dictionary.bos()) | tokens.eq(dictionary.eos())
    scores = torch.rand(tokens.shape, generator=generator).masked_fill(special, 2.0)
    count = torch.round((~special).sum(1).float() * prob).long()
    rank = scores.argsort(1).argsort(1)
    return (rank < count.unsqueeze(1)) & ~special


@torch.no_grad()
def analyse(model, dictionary, data, split="valid", max_tokens=50000, mask_prob=0.15, tokens_per_sample=128,
            batch_size=16, seed=1, device="cpu", progress=True, energy=0.99):
    """Per-layer spectra of the ranked real tokens in both conditions and of the [MASK] rows. Returns a dict."""
    mask_idx = dictionary.index("<mask>")
    if mask_idx == dictionary.unk() and "<mask>" not in dictionary.indices:
        raise UserInputError("the checkpoint's dictionary has no <mask> symbol: nothing to mask")
    positions = getattr(getattr(model, "args", None), "max_positions", None)
    if positions is not None and tokens_per_sample > positions:  # else an IndexError deep in the position table
        raise UserInputError(f"--tokens-per-sample {tokens_per_sample}: the checkpoint's encoder has {positions} "
                             f"positions — give --tokens-per-sample {positions} or less")
    model.to(device)
    dataset = blocks(data, split, dictionary, tokens_per_sample)
    generator = torch.Generator().manual_seed(seed)
    grams = None
    seen = 0
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=max_tokens, unit="tok", desc="maelm-rank", file=sys.stderr)
    for tokens in batches(dataset, batch_size, dictionary.pad()):
        masked = choose_masks(tokens, dictionary, mask_prob, generator)
        ranked = tokens.ne(dictionary.pad()) & ~masked
        with_mask = tokens.masked_fill(masked, mask_idx)
        states = {c: hidden_states(model, t.to(device)) for c, t in (("without_mask", tokens), ("with_mask", with_mask))}
        if grams is None:
            dim = states["without_mask"][0].size(-1)
            grams = {c: [Gram(dim) for _ in states["without_mask"]] for c in CONDITIONS + ("mask_tokens",)}
        ranked_dev, masked_dev = ranked.to(device), masked.to(device)
        for layer in range(len(grams["without_mask"])):
            for c in CONDITIONS:
                grams[c][layer].update(states[c][layer][ranked_dev])
            grams["mask_tokens"][layer].update(states["with_mask"][layer][masked_dev])
        n = int(ranked.sum())
        seen += n
        if bar is not None:
            bar.update(min(n, max_tokens - bar.n))
        if seen >= max_tokens:
            break
    if bar is not None:
        bar.close()
    if grams is None:
        raise UserInputError(f"{data}: split {split} has no tokens")
    rows = []
    for c in CONDITIONS + ("mask_tokens",):
        for layer, gram in enumerate(grams[c]):
            row = {"condition": c, "layer": layer, "tokens": gram.count, **spectrum_stats(gram.singular_values())}
            if c == "mask_tokens":
                row.update(mask_subspace_stats(grams["with_mask"][layer], gram, energy))
            rows.append(row)
    return {"hidden_dim": grams["without_mask"][0].matrix.size(0), "ranked_tokens": seen, "rows": rows}


FIELDS = ["model", "condition", "layer", "tokens", "effective_rank"] + [f"rank{round(q * 100)}" for q in
                                                                         ENERGY_FRACTIONS] + [
    "mask_energy_outside_real", "mask_dominant_dims", "mask_dominant_energy"]


def write_csv(path, results):
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS, extrasaction="ignore")
        writer.writeheader()
        for model in results:
            for row in model["rows"]:
                writer.writerow({"model": model["name"], **row})


def plot(path, results, title=None):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_real, ax_mask) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, model in enumerate(results):
        color = colors[i % len(colors)]
        for c, style in (("without_mask", "-"), ("with_mask", "--")):
            rows = [r for r in model["rows"] if r["condition"] == c]
            ax_real.plot([r["layer"] for r in rows], [r["effective_rank"] for r in rows], style, marker="o",
                         color=color, label=f"{model['name']}, {c.replace('_', ' ')}")
        rows = [r for r in model["rows"] if r["condition"] == "mask_tokens"]
        ax_mask.plot([r["layer"] for r in rows], [r["effective_rank"] for r in rows], ":", marker="s", color=color,
                     label=model["name"])
    ax_real.set_title("real tokens (same tokens in both conditions)")
    ax_mask.set_title("[MASK] tokens (with-[MASK] input)")
    for ax in (ax_real, ax_mask):
        ax.set_xlabel("layer (0 = embeddings)")
        ax.set_ylabel("effective rank")
        ax.grid(alpha=0.3)
        layers = sorted({r["layer"] for m in results for r in m["rows"]})
        ax.set_xticks(layers)
    ax_real.legend(fontsize=7)
    ax_mask.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_outputs(prefix, results, settings):
    directory = os.path.dirname(os.path.abspath(prefix))
    os.makedirs(directory, exist_ok=True)
    with open(prefix + ".json", "w") as fh:
        json.dump({"settings": settings, "models": results}, fh, indent=1)
    write_csv(prefix + ".csv", results)
    plot(prefix + ".png", results, settings.get("title"))
    return [prefix + ext for ext in (".json", ".csv", ".png")]


def build_parser():
    parser = argparse.ArgumentParser(prog="maelm-rank", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="*", help="checkpoint(s): ours (any task) or fairseq RoBERTa")
    parser.add_argument("--data", help="fairseq data-bin with the checkpoints' dictionary (dict.txt, SPLIT.bin/.idx)")
    parser.add_argument("--out", required=True, metavar="PREFIX", help="output prefix: PREFIX.json, PREFIX.csv, PREFIX.png")
    parser.add_argument("--name", nargs="+", action="extend", metavar="NAME",
                        help="label of each checkpoint in the outputs, in order (default: path); "
                             "`--name a b` or `--name a --name b`")
    parser.add_argument("--split", default="valid")
    parser.add_argument("--max-tokens", type=int, default=50000,
                        help="stop after this many ranked real tokens per checkpoint (default 50000)")
    parser.add_argument("--mask-prob", type=float, default=0.15, help="fraction of tokens masked in with_mask")
    parser.add_argument("--tokens-per-sample", type=int, default=128, help="block length, <s> included")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1, help="mask positions (the same for every checkpoint)")
    parser.add_argument("--energy", type=float, default=0.99,
                        help="energy fraction defining the subspaces of the [MASK] statistics")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--title", help="plot title")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--plot", nargs="+", metavar="JSON", help="only merge earlier PREFIX.json results into one "
                                                                  "plot/CSV/JSON at --out")
    return parser


def run(argv=None):
    args = build_parser().parse_args(argv)
    if args.plot:
        results = []
        for path in args.plot:
            with open(path) as fh:
                results.extend(json.load(fh)["models"])
        return write_outputs(args.out, results, {"merged_from": args.plot, "title": args.title})
    if not args.checkpoints or not args.data:
        raise UserInputError("give CHECKPOINT(s) and --data DATA_BIN (or --plot JSON ...)")
    if args.name and len(args.name) != len(args.checkpoints):
        raise UserInputError(f"{len(args.name)} --name for {len(args.checkpoints)} checkpoints")
    if not 0 < args.mask_prob < 1:
        raise UserInputError(f"--mask-prob must be in (0, 1), got {args.mask_prob}")
    results = []
    for i, path in enumerate(args.checkpoints):
        model, dictionary = load_encoder(path, args.data)
        result = analyse(model, dictionary, args.data, args.split, args.max_tokens, args.mask_prob,
                         args.tokens_per_sample, args.batch_size, args.seed, args.device, not args.no_progress,
                         args.energy)
        results.append({"name": args.name[i] if args.name else path, "checkpoint": os.path.abspath(path), **result})
        for c in CONDITIONS:
            curve = " ".join(f"{r['effective_rank']:.1f}" for r in result["rows"] if r["condition"] == c)
            print(f"{results[-1]['name']}: effective rank per layer, {c.replace('_', ' ')}: {curve}")
    settings = {k: getattr(args, k) for k in ("data", "split", "max_tokens", "mask_prob", "tokens_per_sample", "seed",
                                              "energy", "title")}
    return write_outputs(args.out, results, settings)


@console_main
def main(argv=None):
    logging.basicConfig(level=logging.WARNING)
    paths = run(argv)
    print("wrote " + ", ".join(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
