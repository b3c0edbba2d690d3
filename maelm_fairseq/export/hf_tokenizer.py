"""The export's tokenizer: our preprocessing's text-to-symbols step with fairseq's ids, as a transformers tokenizer.

Ids follow the fairseq dictionary: <s>=0 <pad>=1 </s>=2 <unk>=3, dict.txt order, <mask> last; sequences are
`<s> A </s>` and `<s> A </s> </s> B </s>`, as RoBERTa and fairseq's sentence_prediction build them.
  sentencepiece  a `tokenizers` BPE/Unigram built from the model by transformers' SentencePiece converter (its
                 normalizer, dummy prefix and byte fallback follow the model's settings), vocabulary renumbered
  gpt2           transformers' RobertaTokenizer (byte-level BPE) on vocab.bpe, vocabulary renumbered as in fairseq
  fastbpe        `hf_remote/tokenization_maelm_fastbpe.py` (Moses + fastBPE in Python), loaded with
                 trust_remote_code=True; transformers has no Moses pre-tokenizer
"""
import json
import os
import shutil

from .hf_model import REMOTE_DIR

FASTBPE_MODULE = "tokenization_maelm_fastbpe"


def specials():
    """RoBERTa's special tokens; <mask> takes the space before it, as fairseq's fill_mask leaves it out."""
    from transformers import AddedToken

    return dict(bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>", unk_token="<unk>",
                pad_token="<pad>", mask_token=AddedToken("<mask>", lstrip=True, rstrip=False, normalized=False,
                                                         special=True))


def save_tokenizer(tok, out_dir):
    """Write the tokenizer of TokenizerFiles `tok` to `out_dir`; returns the tokenizer class name."""
    build = {"sentencepiece": sentencepiece_tokenizer, "gpt2": gpt2_tokenizer, "fastbpe": fastbpe_tokenizer}
    tokenizer = build[tok.kind](tok, out_dir)
    tokenizer.save_pretrained(out_dir)
    return type(tokenizer).__name__


def sentencepiece_tokenizer(tok, out_dir):
    from sentencepiece import sentencepiece_model_pb2
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import SpmConverter

    proto = sentencepiece_model_pb2.ModelProto()
    with open(tok.files["model"], "rb") as handle:
        proto.ParseFromString(handle.read())
    pieces = [(piece.piece, piece.score) for piece in proto.pieces]
    bpe = proto.trainer_spec.model_type == 2
    converted = SpmConverter.build_tokenizer_from_spm_proto(
        proto, {piece: i for i, (piece, _) in enumerate(pieces)} if bpe else pieces)
    ids = tok.ids()
    spec = json.loads(converted.to_str())
    if bpe:
        spec["model"]["vocab"] = ids  # merges name pieces, not ids: only the numbering changes
    else:  # Unigram: a list in id order, so the pieces go where fairseq puts them
        scores = dict(pieces)
        by_id = {i: symbol for symbol, i in ids.items()}
        spec["model"]["vocab"] = [[by_id[i], scores.get(by_id[i], 0.0)] for i in range(len(by_id))]
        spec["model"]["unk_id"] = tok.dictionary.unk()
    tokenizer = Tokenizer.from_str(json.dumps(spec))
    tokenizer.post_processor = roberta_template(tok)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, **specials())


def roberta_template(tok):
    from tokenizers import processors

    d = tok.dictionary
    return processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                         special_tokens=[("<s>", d.bos()), ("</s>", d.eos())])


def gpt2_tokenizer(tok, out_dir):
    from transformers import RobertaTokenizer

    from .tokenizer_files import read_json, read_merges

    by_bpe_id = {str(i): token for token, i in read_json(tok.files["encoder_json"], "--gpt2-encoder-json").items()}
    # dict.txt symbols are GPT-2 BPE ids; the tokenizer's vocabulary is their byte-level strings
    vocab = {by_bpe_id.get(symbol, symbol): i for symbol, i in tok.ids().items()}
    return RobertaTokenizer(vocab=vocab, merges=read_merges(tok.files["vocab_bpe"]), **specials())


def fastbpe_tokenizer(tok, out_dir):
    from transformers.dynamic_module_utils import get_class_from_dynamic_module

    shutil.copy(os.path.join(REMOTE_DIR, FASTBPE_MODULE + ".py"), out_dir)
    cls = get_class_from_dynamic_module(f"{FASTBPE_MODULE}.MaelmFastBpeTokenizer", out_dir)
    cls.register_for_auto_class("AutoTokenizer")  # save_pretrained then writes the auto_map entry
    vocab = os.path.join(out_dir, "vocab.json")
    with open(vocab, "w", encoding="utf-8") as handle:
        json.dump(tok.ids(), handle, ensure_ascii=False, indent=0)
    return cls(vocab_file=vocab, codes_file=tok.files["codes"], lowercase=tok.lowercase, **specials())
