"""tokenizer.json has one reader (maelm_fairseq/data/tokenizer_manifest.py), used by the preprocess pipelines and by
maelm-export-hf: each gives the same one-line refusal of a manifest it cannot use."""
import pytest

from maelm_fairseq.data.tokenizer_manifest import PREPARE_CORPUS_FIX, read_manifest, write_manifest
from maelm_fairseq.errors import UserInputError
from maelm_fairseq.export.tokenizer_files import FILES_FIX, find_tokenizer_files
from preprocess.tokenizers import load_tokenizer


def test_written_and_read_back(tmp_path):
    write_manifest(tmp_path, "fastbpe", {"codes": "bpe.codes"}, {"lowercase": True})
    manifest = read_manifest(tmp_path)
    assert (manifest.kind, manifest.files, manifest.options) == ("fastbpe", {"codes": "bpe.codes"}, {"lowercase": True})
    assert manifest.file_paths() == {"codes": str(tmp_path / "bpe.codes")}
    assert manifest.path == str(tmp_path / "tokenizer.json")


def pipeline(directory):
    load_tokenizer(directory)


def export(directory):
    (directory / "dict.txt").write_text("a 1\n")
    find_tokenizer_files(str(directory))


@pytest.mark.parametrize("read,fix", [(pipeline, PREPARE_CORPUS_FIX), (export, FILES_FIX)])
@pytest.mark.parametrize("manifest,what", [
    (None, "no tokenizer manifest — {fix}"),
    ('{"kind": "gpt2", "files": ', "not a tokenizer manifest (kind, files) — {fix}"),
    ('["sentencepiece"]', "not a tokenizer manifest (kind, files) — {fix}"),
    ('{"kind": "wordpiece", "files": {"vocab": "vocab.txt"}}',
     "unknown tokenizer kind 'wordpiece' — use one of sentencepiece, gpt2, fastbpe, maelm-sentencepiece"),
    ('{"kind": "gpt2", "files": {"encoder_json": "encoder.json"}}',
     "a gpt2 tokenizer has the files encoder_json, vocab_bpe, this manifest names encoder_json — {fix}"),
])
def test_a_manifest_that_cannot_be_used_is_one_line(tmp_path, read, fix, manifest, what):
    """Before one reader, the pipelines met a broken manifest with a JSON or KeyError traceback."""
    if manifest is not None:
        (tmp_path / "tokenizer.json").write_text(manifest)
    with pytest.raises(UserInputError) as error:
        read(tmp_path)
    assert str(error.value) == f"{tmp_path / 'tokenizer.json'}: " + what.format(fix=fix)
