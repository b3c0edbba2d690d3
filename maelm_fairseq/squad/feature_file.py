"""The SQuAD features file ({split}.pt, written by preprocess/squad/prepare_squad.py; format described in
preprocess/squad/README.md): its format tag, its one reader, and the mapping of token positions back to context
text through the stored character offsets.

It lives in the plugin, not in preprocess, because the fine-tuning task reads it and the plugin must work
without the preprocess package installed.
"""
from pathlib import Path

import torch

from ..errors import UserInputError

FORMAT_NAME = "maelm-squad-features"
FORMAT_VERSION = 1
WRITER = "preprocess/squad/prepare_squad.py"


def load_features(path):
    """The stored dict: metadata, `examples` (list of dicts) and `features` (list of dicts with tensors)."""
    path = Path(path)
    try:
        stored = torch.load(path, weights_only=True)
    except FileNotFoundError:
        raise UserInputError(f"{path} not found: write it with {WRITER} "
                             f"(--train-json/--valid-json ... --output {path.parent})") from None
    if not isinstance(stored, dict) or stored.get("format") != FORMAT_NAME or stored.get("format_version") != FORMAT_VERSION:
        raise UserInputError(f"{path} is not a {FORMAT_NAME} v{FORMAT_VERSION} file: write it with {WRITER}")
    return stored


def span_text(context: str, offsets, start: int, end: int) -> str:
    """Context text from the first character of token `start` to the last of token `end`. A piece that begins a
    word also covers the space before it, hence the strip."""
    return context[int(offsets[start][0]):int(offsets[end][1])].strip()


def answer_text(example, feature, start_token, end_token):
    """Context text covered by input positions start_token..end_token of `feature`; '' for the <s> null answer.
    Positions that are not a span of context tokens are the caller's bug: ValueError."""
    if start_token == 0 and end_token == 0:
        return ""
    offsets = feature["offsets"]
    if int(offsets[start_token][0]) < 0 or int(offsets[end_token][1]) < 0 or end_token < start_token:
        raise ValueError(f"positions {start_token}..{end_token} are not a span of context tokens")
    return span_text(example["context"], offsets, start_token, end_token)
