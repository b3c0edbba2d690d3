"""maelm-export-hf, the tokenizer: for sentencepiece, GPT-2 BPE and fastBPE+Moses data-bins, AutoTokenizer on the
export gives the ids our preprocessing wrote (fairseq's layout, <mask> last), pairs as sentence_prediction builds
them, and pipeline("fill-mask") predicts what our model predicts. Files that do not match are refused."""
import argparse
import json
import shutil
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from fairseq.data import Dictionary, data_utils  # noqa: E402
from fairseq.models import ARCH_CONFIG_REGISTRY  # noqa: E402

from maelm_fairseq.errors import UserInputError  # noqa: E402
from maelm_fairseq.export.hf_cli import main as export_main  # noqa: E402
from maelm_fairseq.pretrain.task import MaelmConfig, MaelmTask  # noqa: E402
from model_factory import TINY, build  # noqa: E402
from preprocess.pretrain import prepare_corpus  # noqa: E402
from preprocess.tokenizers import load_tokenizer  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GPT2_FILES = ["--gpt2-encoder-json", FIXTURES / "gpt2" / "encoder.json", "--gpt2-vocab-bpe", FIXTURES / "gpt2" / "vocab.bpe"]
PREPARE = {
    "sentencepiece": ["--vocab-size", 500],
    "gpt2": ["--tokenizer", "gpt2", *GPT2_FILES],
    "fastbpe": ["--tokenizer", "fastbpe", "--vocab-size", 200],
}
# valid split: what the tokenizers treat specially (spaces, punctuation, clitics, accents, ligatures, CJK, emoji,
# Moses escapes); each line becomes one binarized item of our preprocessing
VALID_TEXT = (
    "Statements are executed in order.\n"
    "A  loop   repeats its body — naïve café ﬁne 😀 日本語.\n"
    "\n"
    "The else clause runs last: x = 3.14, y's \"quoted\" (paren) <tag> & co.\n"
    "Don't stop; it's 42% of U.S. users' [data]...\n"
)
PAIR = ("The loop repeats.", "A statement runs")
FILL = ("The loop", "its body.")


def prepare(out, kind, *flags):
    """Our preprocessing of the fixture corpus (train) and VALID_TEXT (valid) with `kind` (PREPARE) or `flags`."""
    valid = out.parent / "valid.txt"
    valid.write_text(VALID_TEXT)
    assert prepare_corpus.main(["--input", str(FIXTURES / "corpus.txt"), "--output", str(out), "--valid-input", str(valid),
                         *map(str, flags or PREPARE[kind])]) == 0
    return out


def tiny_mlm_checkpoint(data_bin, path, **overrides):
    """maelm_tiny's MLM baseline (rel-pos) on the data-bin's dictionary, random weights."""
    task = MaelmTask(MaelmConfig(data=str(data_bin), tokens_per_sample=64),
                     Dictionary.load(str(data_bin / "dict.txt")))
    values = dict(TINY, max_positions=64, decoder_layers=0, **overrides)
    torch.manual_seed(0)
    model = build("maelm_tiny", task, **values).eval()
    args = argparse.Namespace(arch="maelm_tiny", **values)
    ARCH_CONFIG_REGISTRY["maelm_tiny"](args)
    torch.save({"model": model.state_dict(), "cfg": {"model": vars(args)}}, path)
    return model, task


def export_cli(*args):
    code = export_main([str(a) for a in args])
    assert code == 0
    return code


@pytest.fixture(scope="module", params=sorted(PREPARE))
def exported(request, tmp_path_factory):
    """(kind, data-bin, our model, its task, export dir): rel-pos for sentencepiece, absolute positions otherwise."""
    kind = request.param
    root = tmp_path_factory.mktemp(kind)
    data_bin = prepare(root / "bin", kind)
    model, task = tiny_mlm_checkpoint(data_bin, root / "c.pt", rel_pos=int(kind == "sentencepiece"))
    export_cli(root / "c.pt", "--out", root / "hf", "--data", data_bin)
    return kind, data_bin, model, task, root / "hf"


def auto_tokenizer(kind, directory):
    return transformers.AutoTokenizer.from_pretrained(directory, trust_remote_code=kind == "fastbpe")


def our_ids(data_bin, dictionary, text):
    """Our preprocessing of one line: the data-bin's tokenizer, then fairseq's dictionary (no </s>)."""
    symbols = load_tokenizer(data_bin).encode(text)
    return dictionary.encode_line(symbols, add_if_not_exist=False, append_eos=False).long().tolist()


def test_ids_equal_the_binarized_data(exported):
    kind, data_bin, _, task, directory = exported
    tokenizer = auto_tokenizer(kind, directory)
    dictionary = task.source_dictionary
    assert len(tokenizer) == len(dictionary) and tokenizer.mask_token_id == len(dictionary) - 1
    assert [tokenizer.convert_tokens_to_ids(t) for t in ("<s>", "<pad>", "</s>", "<unk>")] == [0, 1, 2, 3]
    lines = [line.strip() for line in VALID_TEXT.splitlines() if line.strip()]
    items = [item.tolist() for item in data_utils.load_indexed_dataset(str(data_bin / "valid"), dictionary)
             if len(item) > 1]  # one-token items are document breaks
    assert len(items) == len(lines) == 4
    for line, item in zip(lines, items):  # fairseq-train prepends <s> to the </s>-terminated line
        assert tokenizer(line)["input_ids"] == [0] + item, line
    assert any(dictionary.unk() in item for item in items) == (kind == "fastbpe")  # fastBPE: symbols unseen in train


def test_pairs_as_sentence_prediction_builds_them(exported):
    kind, data_bin, _, task, directory = exported
    first, second = (our_ids(data_bin, task.source_dictionary, text) for text in PAIR)
    assert auto_tokenizer(kind, directory)(*PAIR)["input_ids"] == [0] + first + [2, 2] + second + [2]


def test_fill_mask_pipeline_predicts_what_our_model_predicts(exported):
    kind, data_bin, model, task, directory = exported
    remote = json.loads((directory / "maelm_export.json").read_text())["trust_remote_code"]  # only where needed
    fill = transformers.pipeline("fill-mask", model=str(directory), trust_remote_code=remote)
    tokenizer = fill.tokenizer
    text = f"{FILL[0]} {tokenizer.mask_token} {FILL[1]}"
    ids = tokenizer(text)["input_ids"]
    dictionary = task.source_dictionary
    # as fairseq's RoBERTa fill_mask: <mask> takes the space before it, the text after keeps its own
    assert ids == ([0] + our_ids(data_bin, dictionary, FILL[0]) + [task.mask_idx]
                   + our_ids(data_bin, dictionary, " " + FILL[1]) + [2])
    with torch.no_grad():
        logits = model(torch.tensor([ids]))[0].view(len(ids), -1)
    ours = int(logits[ids.index(task.mask_idx)].argmax())
    top = fill(text, top_k=3)
    assert top[0]["token"] == ours, (top, ours)
    assert top[0]["score"] == pytest.approx(float(logits[ids.index(task.mask_idx)].softmax(-1).max()), abs=1e-5)


def test_export_records_what_to_load_with(exported):
    kind, _, _, _, directory = exported
    info = json.loads((directory / "maelm_export.json").read_text())
    assert info["tokenizer"] == kind and info["trust_remote_code"] == (kind in ("sentencepiece", "fastbpe"))
    assert (directory / "tokenization_maelm_fastbpe.py").exists() == (kind == "fastbpe")


def run_export(tmp_path, data_bin, *flags, checkpoint=None):
    """The command's work in-process (library errors raised, not printed): tmp_path/c.pt -> tmp_path/hf."""
    from maelm_fairseq.export.hf_cli import build_parser, run

    checkpoint = checkpoint or tmp_path / "c.pt"
    return run(build_parser().parse_args([str(checkpoint), "--out", str(tmp_path / "hf"), "--data", str(data_bin),
                                          *map(str, flags)]))


def without_manifest(data_bin, tmp_path):
    copy = tmp_path / "bare"
    shutil.copytree(data_bin, copy)
    (copy / "tokenizer.json").unlink()
    return copy


def test_data_defaults_to_the_data_bin_the_checkpoint_records(tmp_path, capsys):
    """No --data: the checkpoint's cfg.task.data is used while it holds dict.txt, and said; once it is gone, the
    refusal names it."""
    data_bin = prepare(tmp_path / "bin", "gpt2")
    tiny_mlm_checkpoint(data_bin, tmp_path / "c.pt")
    state = torch.load(tmp_path / "c.pt", weights_only=False)
    state["cfg"]["task"] = {"_name": "maelm", "data": f"{data_bin}:{tmp_path / 'second-shard'}"}  # dict.txt: 1st
    torch.save(state, tmp_path / "c.pt")
    export_cli(tmp_path / "c.pt", "--out", tmp_path / "hf")
    assert f"--data {data_bin}: the data-bin recorded in the checkpoint (cfg.task.data)" in capsys.readouterr().out
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    line = "The else clause runs last."
    expected = [0] + our_ids(data_bin, Dictionary.load(str(data_bin / "dict.txt")), line) + [2]
    assert tokenizer(line)["input_ids"] == expected

    (data_bin / "dict.txt").unlink()
    assert export_main([str(tmp_path / "c.pt"), "--out", str(tmp_path / "hf2")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --data: needed for the tokenizer, and {data_bin}, the data-bin recorded in the "
                          f"checkpoint (cfg.task.data), has no dict.txt any more") and err.count("\n") == 1


def test_flags_give_the_files_of_a_data_bin_without_manifest(tmp_path):
    data_bin = prepare(tmp_path / "gpt2", "gpt2")
    tiny_mlm_checkpoint(data_bin, tmp_path / "c.pt")
    bare = without_manifest(data_bin, tmp_path)
    with pytest.raises(UserInputError, match="no tokenizer manifest"):
        run_export(tmp_path, bare)
    run_export(tmp_path, bare, *GPT2_FILES)
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    line = "The else clause runs last."
    assert tokenizer(line)["input_ids"] == [0] + our_ids(data_bin, Dictionary.load(str(data_bin / "dict.txt")), line) + [2]


def test_bpe_codes_and_lowercase_flags(tmp_path):
    data_bin = prepare(tmp_path / "lower", "fastbpe", *PREPARE["fastbpe"], "--lowercase")
    tiny_mlm_checkpoint(data_bin, tmp_path / "c.pt")
    bare = without_manifest(data_bin, tmp_path)
    line = "The Else Clause runs LAST."
    expected = [0] + our_ids(data_bin, Dictionary.load(str(data_bin / "dict.txt")), line) + [2]
    for flags, equal in ((["--lowercase"], True), ([], False)):
        run_export(tmp_path, bare, "--bpe-codes", data_bin / "bpe.codes", *flags)
        tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf", trust_remote_code=True)
        assert (tokenizer(line)["input_ids"] == expected) == equal
    with pytest.raises(UserInputError, match="made with lowercasing — add --lowercase"):  # the manifest says so
        run_export(tmp_path, data_bin, "--bpe-codes", data_bin / "bpe.codes")


def test_sp_model_flag_and_a_unigram_model(tmp_path):
    """A sentencepiece model given to prepare_corpus (--sp-model), here a unigram one: the export's Unigram
    tokenizer, renumbered to fairseq's ids, gives our preprocessing's ids."""
    import sentencepiece as spm

    spm.SentencePieceTrainer.train(input=str(FIXTURES / "corpus.txt"), model_prefix=str(tmp_path / "uni"),
                                   vocab_size=400, model_type="unigram", minloglevel=2)
    data_bin = prepare(tmp_path / "bin", "sentencepiece", "--sp-model", tmp_path / "uni.model")
    assert json.loads((data_bin / "tokenizer.json").read_text())["kind"] == "sentencepiece"
    tiny_mlm_checkpoint(data_bin, tmp_path / "c.pt")
    run_export(tmp_path, without_manifest(data_bin, tmp_path), "--sp-model", tmp_path / "uni.model")
    tokenizer = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    dictionary = Dictionary.load(str(data_bin / "dict.txt"))
    items = [item.tolist() for item in data_utils.load_indexed_dataset(str(data_bin / "valid"), dictionary)
             if len(item) > 1]
    lines = [line.strip() for line in VALID_TEXT.splitlines() if line.strip()]
    assert [tokenizer(line)["input_ids"] for line in lines] == [[0] + item for item in items]


@pytest.fixture(scope="module")
def two_bins(tmp_path_factory):
    root = tmp_path_factory.mktemp("mismatch")
    sp = prepare(root / "sp", "sentencepiece")
    fastbpe = prepare(root / "fastbpe", "fastbpe")
    tiny_mlm_checkpoint(sp, root / "sp.pt")
    return root, sp, fastbpe


@pytest.mark.parametrize("flags,message", [
    (lambda sp, fb: ["--data", fb], "embedding rows"),
    (lambda sp, fb: ["--data", sp, "--bpe-codes", fb / "bpe.codes"], "tokenized with 'sentencepiece'"),
    (lambda sp, fb: ["--data", sp, "--sp-model", FIXTURES / "corpus.txt"], "--sp-model"),
    (lambda sp, fb: ["--data", sp, "--gpt2-encoder-json", FIXTURES / "gpt2" / "encoder.json"], "needs both"),
    (lambda sp, fb: ["--data", sp, "--sp-model", sp / "sentencepiece.model", *GPT2_FILES], "one tokenizer"),
    (lambda sp, fb: ["--data", sp, "--lowercase"], "--lowercase only applies with --bpe-codes"),
    (lambda sp, fb: ["--data", sp, "--sp-model", sp / "missing.model"], "missing.model: no such file"),
])
def test_files_that_do_not_match_are_one_clear_line(two_bins, tmp_path, capsys, flags, message):
    root, sp, fastbpe = two_bins
    code = export_main([str(root / "sp.pt"), "--out", str(tmp_path / "hf"), *map(str, flags(sp, fastbpe))])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "hf").exists()  # refused before anything is written


def test_tokenizer_of_another_data_bin_is_refused(two_bins, tmp_path):
    """dict.txt and checkpoint agree, the sentencepiece model is another one: the symbol check catches it."""
    root, sp, _ = two_bins
    other = tmp_path / "other"
    prepare(other, "sentencepiece", "--vocab-size", 450)  # another model
    shutil.copy(sp / "dict.txt", other / "dict.txt")  # sp's ids, other's model
    with pytest.raises(UserInputError, match="does not match .*dict.txt"):
        run_export(tmp_path, other, checkpoint=root / "sp.pt")


def test_unsupported_manifest_options_and_kinds_are_refused(two_bins, tmp_path):
    root, sp, _ = two_bins
    for manifest, message in (({"kind": "sentencepiece", "files": {"model": "sentencepiece.model"},
                                "options": {"pretokenizer": "maelm"}}, "option\\(s\\) pretokenizer"),
                              ({"kind": "maelm-sentencepiece", "files": {"model": "sp.model"}}, "cannot be exported")):
        copy = tmp_path / manifest["kind"]
        shutil.copytree(sp, copy)
        (copy / "tokenizer.json").write_text(json.dumps(manifest))
        with pytest.raises(UserInputError, match=message):
            run_export(tmp_path, copy, checkpoint=root / "sp.pt")


def test_python_fastbpe_equals_fastbpe_on_every_word_of_the_corpus(tmp_path):
    """The exported tokenizer re-implements fastBPE's merges in Python (no compiled extension for its users)."""
    import importlib.util

    import fastBPE
    from sacremoses import MosesTokenizer

    data_bin = prepare(tmp_path / "bin", "fastbpe")
    spec = importlib.util.spec_from_file_location(
        "exported_fastbpe", Path(__file__).resolve().parents[1] / "maelm_fairseq/export/hf_remote/"
                                                                  "tokenization_maelm_fastbpe.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ranks = module.read_codes(data_bin / "bpe.codes")
    reference = fastBPE.fastBPE(str(data_bin / "bpe.codes"))
    moses = MosesTokenizer(lang="en")
    words = {word for line in open(FIXTURES / "corpus.txt", encoding="utf-8")
             for word in moses.tokenize(line, escape=False, return_str=True).split()}
    words |= {"a", "aaaa", "ababab", "naïve", "日本語", "thethethe"}
    assert len(words) > 400
    assert {w: module.apply_codes(w, ranks) for w in words} == {w: reference.apply([w])[0].split() for w in words}
