"""Read features written by prepare_squad.py and map predicted token spans back to context text."""
from pathlib import Path

import torch

FORMAT_NAME = "maelm-squad-features"
FORMAT_VERSION = 1


def load_features(path):
    """The stored dict: metadata, `examples` (list of dicts) and `features` (list of dicts with tensors)."""
    stored = torch.load(Path(path), weights_only=True)
    if stored.get("format") != FORMAT_NAME or stored.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: not a {FORMAT_NAME} v{FORMAT_VERSION} file")
    return stored


def answer_text(example, feature, start_token, end_token):
    """Context text covered by input positions start_token..end_token of `feature`; '' for the <s> null answer."""
    if start_token == 0 and end_token == 0:
        return ""
    offsets = feature["offsets"]
    start_char, end_char = int(offsets[start_token][0]), int(offsets[end_token][1])
    if start_char < 0 or end_char < 0 or end_token < start_token:
        raise ValueError(f"positions {start_token}..{end_token} are not a span of context tokens")
    # A piece that starts a word also covers the whitespace before it, hence the strip.
    return example["context"][start_char:end_char].strip()
