"""One export: checkpoint -> transformers model directory (+ tokenizer), reloaded and checked against ours."""
import json
import os

from .checkpoint import choose_head, has_decoder, has_rel_pos, load_checkpoint, vocab_size
from .hf_model import AUTO_CLASSES, save_model
from .hf_tokenizer import save_tokenizer
from .reference import Reference, max_difference, random_batch
from .tokenizer_files import check_matches


class ExportMismatch(RuntimeError):
    """The reloaded export does not reproduce our outputs within the tolerance."""

    def __init__(self, difference, tolerance):
        super().__init__(f"exported model differs from ours: max abs difference {difference:.3g} > {tolerance}")
        self.difference, self.tolerance = difference, tolerance


def export(checkpoint, out_dir, head="auto", tokenizer=None, verify=True, tolerance=1e-4):
    """Write `out_dir`; `tokenizer` is a TokenizerFiles (tokenizer_files.find_tokenizer_files) or None.
    Returns what maelm_export.json records."""
    weights, cfg = load_checkpoint(checkpoint)
    head = choose_head(weights, head)
    if tokenizer is not None:
        check_matches(tokenizer, vocab_size(weights))  # before anything is written
    os.makedirs(out_dir, exist_ok=True)
    rel_pos = has_rel_pos(weights)
    info = {"source_checkpoint": os.path.abspath(checkpoint), "head": head,
            "class": save_model(weights, cfg, head, out_dir), "relative_position_bias": rel_pos,
            "trust_remote_code": rel_pos, "decoder_dropped": has_decoder(weights)}
    if tokenizer is not None:
        info.update(tokenizer=tokenizer.kind, tokenizer_class=save_tokenizer(tokenizer, out_dir))
        info["trust_remote_code"] = rel_pos or tokenizer.kind == "fastbpe"
    if verify:
        import transformers

        auto = getattr(transformers, AUTO_CLASSES[head])
        reloaded = auto.from_pretrained(out_dir, trust_remote_code=rel_pos).eval()
        diff = max_difference(Reference(weights, cfg, head), reloaded, random_batch(vocab_size(weights)))
        info["max_abs_diff"] = diff
        if not diff <= tolerance:
            raise ExportMismatch(diff, tolerance)
    with open(os.path.join(out_dir, "maelm_export.json"), "w") as fh:
        json.dump(info, fh, indent=1)
    return info
