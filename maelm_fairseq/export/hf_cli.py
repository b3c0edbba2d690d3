"""maelm-export-hf: a maelm checkpoint (or a stock fairseq RoBERTa one) -> a Hugging Face transformers directory,
model and tokenizer, loadable with `AutoModel*.from_pretrained(DIR)` and `AutoTokenizer.from_pretrained(DIR)`.

    maelm-export-hf CHECKPOINT --out DIR --data DATA_BIN [--head auto|model|mlm|classification]
                    [--sp-model FILE | --gpt2-encoder-json FILE --gpt2-vocab-bpe FILE | --bpe-codes FILE [--lowercase]]
    maelm-export-hf CHECKPOINT --out DIR --no-tokenizer

Model (--head auto picks):
  - MLM checkpoints without a decoder (maelm_mlm_*, --decoder-layers 0, fairseq `roberta`): the masked-LM head too,
    tied to the input embedding (AutoModelForMaskedLM, pipeline("fill-mask"));
  - MAE-LM / 3ML checkpoints: the encoder only (AutoModel). Their LM head reads the DECODER's output, so it is
    dropped with the decoder, as for fine-tuning; --head mlm is refused for them;
  - checkpoints fine-tuned with sentence_prediction (one head): AutoModelForSequenceClassification.
  Without the relative-position bias these are transformers' RobertaModel / RobertaForMaskedLM /
  RobertaForSequenceClassification. With it (MAE-LM's --rel-pos 1: maelm_base, maelm_large, maelm_tiny,
  maelm_mlm_base) they are the same classes plus the bias (MaelmModel, MaelmForMaskedLM,
  MaelmForSequenceClassification), whose code is written into DIR: load them with trust_remote_code=True.

Tokenizer (from --data DATA_BIN: its dict.txt gives the ids, its tokenizer.json names the tokenizer files, as
preprocess/pretrain/prepare_corpus.py writes them; the flags above give the files instead. Without --data: the
data-bin the checkpoint's cfg.task.data records, if that folder still has its dict.txt): ids are fairseq's (<s>=0
<pad>=1 </s>=2 <unk>=3, dict.txt order, <mask> last), so AutoTokenizer gives the ids our preprocessing gives.
sentencepiece and GPT-2 BPE load with plain transformers; fastBPE+Moses needs trust_remote_code=True (and
sacremoses). Files that do not match dict.txt, or a dict.txt that does not match the checkpoint, are refused.

After saving, DIR is reloaded with transformers and its hidden states (embeddings and every layer) and head outputs
are compared with ours on a padded random batch (--no-verify to skip); the maximum absolute difference is printed,
stored in DIR/maelm_export.json and must be <= --tolerance.
"""
import argparse
import os
import sys

from ..errors import UserInputError, console_main
from .checkpoint import HEADS, read_checkpoint, recorded_data_bin



def build_parser():
    parser = argparse.ArgumentParser(prog="maelm-export-hf", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", help="fairseq checkpoint (.pt)")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory to write (created if needed)")
    parser.add_argument("--head", choices=HEADS, default="auto", help="what to export (default: auto, see above)")
    tokenizer = parser.add_argument_group("tokenizer")
    tokenizer.add_argument("--data", metavar="DATA_BIN", help="data-bin with the checkpoint's dict.txt (and "
                           "tokenizer.json naming the tokenizer files); default: the one the checkpoint records "
                           "(cfg.task.data), if it still exists")
    tokenizer.add_argument("--sp-model", metavar="FILE", help="sentencepiece model the data-bin was made with")
    tokenizer.add_argument("--gpt2-encoder-json", metavar="FILE", help="GPT-2 BPE encoder.json")
    tokenizer.add_argument("--gpt2-vocab-bpe", metavar="FILE", help="GPT-2 BPE vocab.bpe")
    tokenizer.add_argument("--bpe-codes", metavar="FILE", help="fastBPE codes (Moses tokenization first)")
    tokenizer.add_argument("--lowercase", action="store_true", help="fastBPE: lowercase after Moses tokenization")
    tokenizer.add_argument("--no-tokenizer", action="store_true", help="export the model alone")
    parser.add_argument("--no-verify", action="store_true", help="skip the reload-and-compare check")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max abs difference allowed (default 1e-4)")
    return parser


def recorded_data(checkpoint):
    """--data's default: the data-bin the checkpoint was trained on (cfg.task.data), which must still hold its
    dict.txt; None when the checkpoint records none (the tokenizer step then asks for --data). Reading the file
    twice (here and in the export) costs a second torch.load only when --data is left out."""
    data = recorded_data_bin(read_checkpoint(checkpoint))
    if data is None:
        return None
    if not os.path.isfile(os.path.join(data, "dict.txt")):
        raise UserInputError(f"--data: needed for the tokenizer, and {data}, the data-bin recorded in the checkpoint "
                             f"(cfg.task.data), has no dict.txt any more — give the data-bin the checkpoint was "
                             f"trained on, or --no-tokenizer to export the model alone")
    print(f"--data {data}: the data-bin recorded in the checkpoint (cfg.task.data)")
    return data


def run(args):
    from .hf_export import export
    from .tokenizer_files import find_tokenizer_files

    tokenizer_flags = [args.data, args.sp_model, args.gpt2_encoder_json, args.gpt2_vocab_bpe, args.bpe_codes,
                       args.lowercase]
    if args.no_tokenizer and any(tokenizer_flags):
        raise UserInputError("--no-tokenizer: drop it, or drop --data and the tokenizer file flags")
    tokenizer = None if args.no_tokenizer else find_tokenizer_files(
        args.data or recorded_data(args.checkpoint), args.sp_model, args.gpt2_encoder_json, args.gpt2_vocab_bpe,
        args.bpe_codes, args.lowercase)
    return export(args.checkpoint, args.out, args.head, tokenizer, not args.no_verify, args.tolerance)


@console_main
def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        import transformers
    except ImportError:
        raise UserInputError("maelm-export-hf needs transformers: pip install 'maelm-fairseq[hf]'") from None
    transformers.utils.logging.disable_progress_bar()  # one save and one reload of a local directory
    from .hf_export import ExportMismatch

    try:
        info = run(args)
    except ExportMismatch as e:
        print(f"error: {args.out}: {e} — please report it with the checkpoint's cfg.model", file=sys.stderr)
        return 1
    diff = info.get("max_abs_diff")
    print(f"wrote {args.out} ({info['class']}" + (", decoder dropped" if info["decoder_dropped"] else "")
          + (f", {info['tokenizer']} tokenizer {info['tokenizer_class']}" if "tokenizer" in info else "")
          + (", load with trust_remote_code=True" if info["trust_remote_code"] else "") + ")"
          + (f"; max abs difference vs ours {diff:.2e}" if diff is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
