"""tokenizer.json, the manifest next to a data-bin's dict.txt that names the tokenizer the data-bin was made with:
`{"kind": ..., "files": {name: path relative to the data-bin}, "options": {...}}`.

Written by preprocess/pretrain/prepare_corpus.py (and by the fine-tuning pipelines' --tokenizer flag); read here
for every pipeline that encodes text as pretraining did, and for maelm-export-hf. It imports nothing of fairseq:
the preprocess pipelines read it too.
"""
import json
import os
from dataclasses import dataclass, field

from ..errors import UserInputError

MANIFEST_NAME = "tokenizer.json"
KIND_FILES = {"sentencepiece": ("model",), "gpt2": ("encoder_json", "vocab_bpe"), "fastbpe": ("codes",),
              "maelm-sentencepiece": ("model",)}  # the names under "files" of each kind
TOKENIZER_KINDS = tuple(KIND_FILES)
PREPARE_CORPUS_FIX = "pass the data-bin directory written by preprocess/pretrain/prepare_corpus.py"


@dataclass(frozen=True)
class TokenizerManifest:
    path: str  # the tokenizer.json it was read from
    kind: str
    files: dict  # name -> file name relative to the data-bin, as written
    options: dict = field(default_factory=dict)  # e.g. fastbpe's {"lowercase": true}

    def file_paths(self):
        """name -> path of each file (relative names joined to the data-bin)."""
        directory = os.path.dirname(self.path)
        return {name: os.path.join(directory, relative) for name, relative in self.files.items()}


def write_manifest(directory, kind, files, options=None):
    """Record the tokenizer kind, its files (relative to `directory`) and options such as lowercasing."""
    manifest = {"kind": kind, "files": files, "options": options or {}}
    with open(os.path.join(directory, MANIFEST_NAME), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(manifest, indent=2) + "\n")


def read_manifest(directory, fix=PREPARE_CORPUS_FIX):
    """The manifest of data-bin `directory`. A missing or unreadable one is one line ending with `fix` (what the
    caller's user should give instead); so is a kind this project does not know or files that do not fit it."""
    path = os.path.join(directory, MANIFEST_NAME)
    if not os.path.isfile(path):
        raise UserInputError(f"{path}: no tokenizer manifest — {fix}")
    try:
        with open(path, encoding="utf-8") as fh:
            manifest = json.load(fh)
        kind, files, options = manifest["kind"], dict(manifest["files"]), dict(manifest.get("options") or {})
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UserInputError(f"{path}: not a tokenizer manifest (kind, files) — {fix}") from None
    if kind not in KIND_FILES:
        raise UserInputError(f"{path}: unknown tokenizer kind {kind!r} — use one of {', '.join(TOKENIZER_KINDS)}")
    if sorted(files) != sorted(KIND_FILES[kind]):
        raise UserInputError(f"{path}: a {kind} tokenizer has the files {', '.join(KIND_FILES[kind])}, this manifest "
                             f"names {', '.join(sorted(files)) or 'none'} — {fix}")
    return TokenizerManifest(path, kind, files, options)
