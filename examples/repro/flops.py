"""The reproduction's pretraining plan: training FLOPs per update of each system, the update counts that give every
system the reference's FLOPs, the list of runs (equal updates, then the extra equal-FLOPs runs) and their totals.

The formulas are maelm_fairseq/analysis/flops.py's (matrix products only, multiply-add = 2,
training = 3 x forward, LM head at the predicted positions only), applied to full blocks of --tokens tokens with a
fraction p predicted, all of them <mask> (so a system with a decoder drops p * tokens from its encoder).

    python examples/repro/flops.py --updates 1200 --layers 4 --dim 128 --ffn 512 --vocab 8002 --tokens 128 \
        --batch 32 --decoder-layers 2 --system mlm --system maelm --system threeml_self --system threeml_cross \
        [--tflops 250] [--out plan.json]

A system is one of SYSTEMS in examples/recipes.py (its masking rate, decoder type, whether it has a decoder);
--decoder-layers is the depth of every decoder. The first system is the reference. Prints the JSON, or with --out
writes it there and prints the plan as a table.
"""
import argparse
import importlib.util
import json
import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2]))
from examples.recipes import SYSTEMS  # noqa: E402


def _flops_module():
    """maelm_fairseq/analysis/flops.py loaded from its file: it is plain Python, and the package's import would load
    fairseq and torch first (~3 s, paid by every `run.sh --print`)."""
    name = "maelm_fairseq_analysis_flops"
    spec = importlib.util.spec_from_file_location(
        name, Path(__file__).resolve().parents[2] / "maelm_fairseq" / "analysis" / "flops.py")
    module = sys.modules[name] = importlib.util.module_from_spec(spec)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


_flops = _flops_module()
Shape, train_flops = _flops.Shape, _flops.train_flops


def system_flops_per_update(name, decoder_layers, layers, dim, ffn, vocab, tokens, batch):
    """(name, training FLOPs of one update) of a system of SYSTEMS; a decoder, if it has one, `decoder_layers` deep."""
    flags = SYSTEMS[name].all_flags
    decoder_layers = flags.get("--decoder-layers", decoder_layers)
    shape = Shape(layers=layers, dim=dim, ffn=ffn, vocab=vocab, decoder_layers=decoder_layers,
                  decoder_type=flags.get("--decoder-type", "self"))
    predicted = flags["--mask-prob"] * tokens
    return name, batch * train_flops(shape, tokens, predicted, deleted=predicted if decoder_layers else 0.0)


def plan(per_update, updates, tokens_per_update):
    """Systems (FLOPs/update, relative to the first, equal-FLOPs updates) and the runs SYSTEM-uN with their arms."""
    reference = next(iter(per_update.values()))
    systems = {name: {"flops_per_update": f, "relative": f / reference,
                      "equal_flops_updates": round(updates * reference / f)} for name, f in per_update.items()}
    runs = {}
    for name in systems:
        runs[f"{name}-u{updates}"] = {"system": name, "updates": updates, "arms": ["equal updates"]}
    for name, row in systems.items():
        run = runs.setdefault(f"{name}-u{row['equal_flops_updates']}",
                              {"system": name, "updates": row["equal_flops_updates"], "arms": []})
        run["arms"].append("equal FLOPs")
    for run in runs.values():
        run["train_flops"] = systems[run["system"]]["flops_per_update"] * run["updates"]
        run["tokens"] = tokens_per_update * run["updates"]
    return systems, runs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, required=True, help="updates of every system in the equal-updates arm")
    parser.add_argument("--layers", type=int, required=True)
    parser.add_argument("--dim", type=int, required=True)
    parser.add_argument("--ffn", type=int, help="default 4 x dim")
    parser.add_argument("--vocab", type=int, required=True)
    parser.add_argument("--tokens", type=int, required=True, help="tokens per sequence (full blocks assumed)")
    parser.add_argument("--batch", type=int, required=True, help="sequences per update")
    parser.add_argument("--decoder-layers", type=int, required=True, help="depth of every system's decoder")
    parser.add_argument("--system", action="append", required=True, choices=list(SYSTEMS),
                        help="a system of examples/recipes.py; the first one is the reference")
    parser.add_argument("--tflops", type=float, help="assumed sustained TFLOP/s: adds the estimated seconds")
    parser.add_argument("--out", help="write the JSON here and print the plan as a table")
    args = parser.parse_args()
    ffn = args.ffn or 4 * args.dim
    per_update = dict(system_flops_per_update(name, args.decoder_layers, args.layers, args.dim, ffn, args.vocab,
                                              args.tokens, args.batch) for name in args.system)
    systems, runs = plan(per_update, args.updates, args.batch * args.tokens)
    total = {"runs": len(runs), "train_flops": sum(r["train_flops"] for r in runs.values()),
             "tokens": sum(r["tokens"] for r in runs.values())}
    if args.tflops:
        total["assumed_tflops"] = args.tflops
        total["estimated_seconds"] = total["train_flops"] / (args.tflops * 1e12)
    result = {"systems": systems, "runs": runs, "total": total}
    if not args.out:
        print(json.dumps(result, indent=1))
        return
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=1)
    print(table(systems, runs, total))


def table(systems, runs, total):
    lines = [f"{run:22s} {r['updates']:6d} updates  {', '.join(r['arms']):26s} {r['train_flops'] / 1e15:8.3f} PFLOP "
             f"({systems[r['system']]['relative']:.3f} x the reference per update)  {r['tokens'] / 1e6:7.1f} M tokens"
             for run, r in runs.items()]
    lines.append(f"total: {total['runs']} runs, {total['tokens'] / 1e6:.1f} M tokens (full blocks), "
                 f"{total['train_flops'] / 1e15:.2f} PFLOP")
    if "estimated_seconds" in total:
        lines[-1] += (f"; pretraining about {total['estimated_seconds'] / 60:.1f} min at an assumed "
                      f"{total['assumed_tflops']:g} TFLOP/s sustained (not measured)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
