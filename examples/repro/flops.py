"""Theoretical training FLOPs per update of the four systems, and the update counts that give equal FLOPs.

The same formulas as shared/reference/3ml-spec.md §4 (and benchmarks/flops.py, written independently; this copy
keeps examples/repro/ self-contained). A multiply-add counts 2 FLOPs, only matrix products are counted, training =
3 x forward. Per sequence of n tokens with a fraction p selected for prediction (all of them <mask>):

    A(m)    = 8 m d^2 + 4 m d f + 4 m^2 d          one self-attention layer over m tokens
    X(n, m) = 4 n d^2 + 4 m d^2 + 4 n m d          one cross-attention block, n queries over m encoder outputs
    H(t)    = t (2 d^2 + 2 d V)                    LM head at the t predicted positions only
    MLM       : L A(n) + H(pn)
    MAE-LM / 3ML_self : L A((1-p) n) + D A(n) + H(pn)
    3ML_cross : L A((1-p) n) + D (A(n) + X(n, (1-p) n)) + H(pn)

    python examples/repro/flops.py --updates 1000 --layers 4 --dim 64 --vocab 2002 --tokens 128 --batch 16 \
        --system mlm:0:0.15 --system maelm:1:0.15 ...    # prints JSON: FLOPs/update and equal-FLOPs updates
"""
import argparse
import json


def attention_layer(m, d, f):
    return 8 * m * d * d + 4 * m * d * f + 4 * m * m * d


def cross_attention(n, m, d):
    return 4 * n * d * d + 4 * m * d * d + 4 * n * m * d


def lm_head(t, d, vocab):
    return t * (2 * d * d + 2 * d * vocab)


def forward_flops(layers, dim, ffn, vocab, n, p, decoder_layers=0, decoder_type="self"):
    """Forward FLOPs of one sequence of n tokens, fraction p predicted (and, with a decoder, deleted)."""
    t = p * n
    if decoder_layers == 0:
        return layers * attention_layer(n, dim, ffn) + lm_head(t, dim, vocab)
    kept = (1 - p) * n
    decoder = attention_layer(n, dim, ffn)
    if decoder_type == "cross":
        decoder += cross_attention(n, kept, dim)
    return layers * attention_layer(kept, dim, ffn) + decoder_layers * decoder + lm_head(t, dim, vocab)


def train_flops_per_update(batch, **shape):
    return 3 * batch * forward_flops(**shape)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--updates", type=int, required=True, help="updates of the reference (first) system")
    parser.add_argument("--layers", type=int, required=True)
    parser.add_argument("--dim", type=int, required=True)
    parser.add_argument("--ffn", type=int, help="default 4 x dim")
    parser.add_argument("--vocab", type=int, required=True)
    parser.add_argument("--tokens", type=int, required=True, help="tokens per sequence")
    parser.add_argument("--batch", type=int, required=True, help="sequences per update")
    parser.add_argument("--system", action="append", required=True,
                        help="NAME:DECODER_LAYERS:MASK_PROB[:cross]; the first one is the reference")
    args = parser.parse_args()
    rows = {}
    for spec in args.system:
        name, dec, p, *kind = spec.split(":")
        rows[name] = train_flops_per_update(args.batch, layers=args.layers, dim=args.dim, ffn=args.ffn or 4 * args.dim,
                                            vocab=args.vocab, n=args.tokens, p=float(p), decoder_layers=int(dec),
                                            decoder_type=kind[0] if kind else "self")
    reference = rows[args.system[0].split(":")[0]]
    out = {name: {"flops_per_update": f, "relative": f / reference,
                  "equal_flops_updates": round(args.updates * reference / f)} for name, f in rows.items()}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
