"""Which tokenizer an export ships, and its files checked against the dictionary the checkpoint was trained with.

The files come from explicit flags (--sp-model, --gpt2-encoder-json + --gpt2-vocab-bpe, --bpe-codes [--lowercase])
or else from the data-bin's manifest (tokenizer.json, data/tokenizer_manifest.py). Symbols are checked both ways
where the tokenizer has a fixed vocabulary, so ids cannot silently shift.
"""
import json
import os
import re
from dataclasses import dataclass, field

from ..data.dictionary import load_dictionary
from ..data.tokenizer_manifest import MANIFEST_NAME, read_manifest
from ..errors import UserInputError

KIND_FLAGS = {"sentencepiece": "--sp-model", "gpt2": "--gpt2-encoder-json/--gpt2-vocab-bpe", "fastbpe": "--bpe-codes"}
FILES_FIX = "give the tokenizer's files with --sp-model, --gpt2-encoder-json and --gpt2-vocab-bpe, or --bpe-codes"
# fairseq's Dictionary.pad_to_multiple_ fills dictionaries with these; no tokenizer ever emits them
FILLER = re.compile(r"madeupword\d{4}")


@dataclass
class TokenizerFiles:
    kind: str
    files: dict  # sentencepiece: model; gpt2: encoder_json, vocab_bpe; fastbpe: codes
    dictionary: object  # fairseq Dictionary, with <mask> added as our tasks add it
    dict_path: str
    lowercase: bool = False
    flags: str = field(default="")  # where the files came from, for messages

    def symbols(self):
        """dict.txt symbols in id order, without fairseq's specials, the mask and fillers."""
        mask = self.dictionary.index("<mask>")
        return [s for i, s in enumerate(self.dictionary.symbols)
                if i >= self.dictionary.nspecial and i != mask and not FILLER.fullmatch(s)]

    def ids(self):
        """symbol -> fairseq id for every id: specials, dict.txt, and <mask> (last, or where dict.txt has it)."""
        return {**{s: i for i, s in enumerate(self.dictionary.symbols)}, "<mask>": self.dictionary.index("<mask>")}


def find_tokenizer_files(data, sp_model=None, gpt2_encoder_json=None, gpt2_vocab_bpe=None, bpe_codes=None,
                         lowercase=False):
    """The TokenizerFiles for data-bin `data` and the explicit flags (which take precedence over its manifest)."""
    given = {kind for kind, present in (("sentencepiece", sp_model), ("gpt2", gpt2_encoder_json or gpt2_vocab_bpe),
                                        ("fastbpe", bpe_codes)) if present}
    if not data:
        raise UserInputError("--data: needed for the tokenizer, its dict.txt gives the ids — give the data-bin the "
                             "checkpoint was trained on, or --no-tokenizer to export the model alone")
    dict_path = os.path.join(data, "dict.txt")
    dictionary = load_dictionary(dict_path, missing_hint="--data must be a fairseq data-bin with dict.txt")
    if len(given) > 1:
        raise UserInputError(f"{' and '.join(KIND_FLAGS[k] for k in sorted(given))}: one tokenizer per export — "
                             f"give the files of the tokenizer the data-bin was made with")
    if lowercase and given != {"fastbpe"}:
        raise UserInputError("--lowercase only applies with --bpe-codes (fastBPE)")
    if given == {"sentencepiece"}:
        kind, files, flags = "sentencepiece", {"model": sp_model}, "--sp-model"
    elif given == {"gpt2"}:
        if not (gpt2_encoder_json and gpt2_vocab_bpe):
            raise UserInputError("--gpt2-encoder-json and --gpt2-vocab-bpe: GPT-2 BPE needs both files")
        kind, files, flags = "gpt2", {"encoder_json": gpt2_encoder_json, "vocab_bpe": gpt2_vocab_bpe}, \
            "--gpt2-encoder-json/--gpt2-vocab-bpe"
    elif given == {"fastbpe"}:
        kind, files, flags = "fastbpe", {"codes": bpe_codes}, "--bpe-codes"
    else:
        kind, files, lowercase, flags = exportable(read_manifest(data, FILES_FIX))
    if given and os.path.isfile(os.path.join(data, MANIFEST_NAME)):  # the flags replace its files, not how the
        made_with = read_manifest(data, FILES_FIX)  # data-bin was tokenized
        if made_with.kind != kind:
            raise UserInputError(f"{flags}: {made_with.path} says the data-bin was tokenized with "
                                 f"{made_with.kind!r}, these flags give a {kind} tokenizer — give the files of the "
                                 f"tokenizer it was made with")
        if bool(made_with.options.get("lowercase")) != bool(lowercase):
            made = "without" if lowercase else "with"
            raise UserInputError(f"--lowercase: {made_with.path} says the data-bin was made {made} lowercasing — "
                                 f"{'drop' if lowercase else 'add'} --lowercase")
    for path in files.values():
        if not os.path.isfile(path):
            raise UserInputError(f"{path}: no such file ({flags})")
    return TokenizerFiles(kind, files, dictionary, dict_path, bool(lowercase), flags)


def exportable(manifest):
    """(kind, files, lowercase, where they came from) of a manifest whose tokenizer the export can ship."""
    if manifest.kind not in KIND_FLAGS:
        raise UserInputError(f"{manifest.path}: tokenizer {manifest.kind!r} cannot be exported (these can: "
                             f"{', '.join(KIND_FLAGS)}) — export the model alone with --no-tokenizer")
    options = dict(manifest.options)
    lowercase = options.pop("lowercase", False) if manifest.kind == "fastbpe" else False
    unsupported = sorted(k for k, v in options.items() if v)
    if unsupported:  # an option the export would silently ignore would change the ids
        raise UserInputError(f"{manifest.path}: tokenizer option(s) {', '.join(unsupported)} are not supported by "
                             f"maelm-export-hf — export with --no-tokenizer and tokenize as the data-bin was made")
    return manifest.kind, manifest.file_paths(), lowercase, manifest.path


def check_matches(tok, vocab_rows):
    """The checkpoint's embedding rows, the dictionary and the tokenizer's own vocabulary must agree."""
    if vocab_rows != len(tok.dictionary):
        raise UserInputError(
            f"{tok.dict_path}: gives {len(tok.dictionary)} ids (with <s> <pad> </s> <unk> and <mask>), but the "
            f"checkpoint has {vocab_rows} embedding rows — give the data-bin the checkpoint was trained on")
    produced = tokenizer_vocabulary(tok)
    symbols = tok.symbols()
    if produced is None:  # fastBPE: whatever the codes can spell
        merged = produced_by_codes(tok.files["codes"])
        unknown = [s for s in symbols if not spelled_by_codes(s, merged)]
        missing = []
    else:
        known = set(produced)
        unknown = [s for s in symbols if s not in known]
        in_dict = set(symbols)
        missing = [s for s in produced if s not in in_dict]
    if unknown or missing:
        detail = (f"{len(unknown)} dict.txt symbols it cannot produce (e.g. {unknown[:3]})" if unknown else
                  f"{len(missing)} of its symbols are not in dict.txt (e.g. {missing[:3]})")
        raise UserInputError(f"{tok.flags}: this {tok.kind} tokenizer does not match {tok.dict_path}: {detail} — "
                             f"give the tokenizer files the data-bin was made with")


def tokenizer_vocabulary(tok):
    """Every symbol the tokenizer can emit, as dict.txt spells it; None for fastBPE (its symbols depend on text)."""
    if tok.kind == "sentencepiece":
        import sentencepiece as spm

        try:
            sp = spm.SentencePieceProcessor(model_file=tok.files["model"])
        except (RuntimeError, OSError):
            raise UserInputError(f"{tok.files['model']}: not a sentencepiece model ({tok.flags}) — give the "
                                 f".model file the data-bin was made with")
        return [sp.id_to_piece(i) for i in range(sp.get_piece_size()) if not (sp.is_control(i) or sp.is_unknown(i))]
    if tok.kind == "gpt2":
        read_merges(tok.files["vocab_bpe"])
        encoder = read_json(tok.files["encoder_json"], "--gpt2-encoder-json")
        return [str(i) for i in sorted(encoder.values())]
    return None


def read_merges(path):
    """The merges of a GPT-2 vocab.bpe: '#version' line, then 'left right' lines."""
    lines = [line.split() for line in open(path, encoding="utf-8").read().splitlines()[1:] if line]
    if not all(len(parts) == 2 for parts in lines):
        raise UserInputError(f"{path}: not a GPT-2 vocab.bpe (lines 'left right' after '#version') — give the "
                             f"vocab.bpe the data-bin was made with (--gpt2-vocab-bpe)")
    return [tuple(parts) for parts in lines]


def read_json(path, flag):
    try:
        return json.loads(open(path, encoding="utf-8").read())
    except ValueError as e:
        raise UserInputError(f"{path}: not JSON ({flag}): {e}")


def produced_by_codes(path):
    """Every subword a fastBPE codes file can build (merge results), `</w>` marking word ends."""
    merged = set()
    for line in open(path, encoding="utf-8"):
        parts = line.split()
        if len(parts) != 3:
            raise UserInputError(f"{path}: not a fastBPE codes file (lines 'left right count') — give the "
                                 f"bpe.codes the data-bin was made with (--bpe-codes)")
        merged.add(parts[0] + parts[1])
    return merged


def spelled_by_codes(symbol, merged):
    """Whether fastBPE can output this dict.txt symbol with these merges: 'sub@@' inside a word or 'sub' at its
    end, each either one character or a merge result."""
    inside = symbol.endswith("@@") and (len(symbol) == 3 or symbol[:-2] in merged)
    return inside or len(symbol) == 1 or symbol + "</w>" in merged
