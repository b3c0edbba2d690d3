"""End-to-end tests of preprocess/pretrain/prepare_corpus.py on the committed fixture text."""
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from fairseq import options, tasks
from fairseq.data import Dictionary, data_utils

from preprocess.fairseq_dict import RESERVED_SYMBOLS
from preprocess.process_pool import ordered_parallel_map
from preprocess.pretrain import prepare_corpus
from preprocess.text_stream import collapse_blank_lines
from preprocess.tokenizers import load_tokenizer

from helpers import fairseq_train, record_workers

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
CORPUS = FIXTURES / "corpus.txt"
GPT2_FLAGS = ["--gpt2-encoder-json", str(FIXTURES / "gpt2" / "encoder.json"),
              "--gpt2-vocab-bpe", str(FIXTURES / "gpt2" / "vocab.bpe")]


def prepare(out, *flags, inputs=(CORPUS,)):
    assert prepare_corpus.main(["--input", *map(str, inputs), "--output", str(out), *map(str, flags)]) == 0
    return Path(out)


def load_split(data_bin, split):
    dictionary = Dictionary.load(str(data_bin / "dict.txt"))
    dataset = data_utils.load_indexed_dataset(str(data_bin / split), dictionary)
    assert dataset is not None, f"{data_bin}/{split} did not load"
    return dictionary, dataset


def decoded_lines(data_bin, split):
    """Every item of the split decoded back to text by the data-bin's own tokenizer ('' = document break)."""
    dictionary, dataset = load_split(data_bin, split)
    tokenizer = load_tokenizer(data_bin)
    lines = []
    for item in dataset:
        assert item[-1] == dictionary.eos()
        lines.append(tokenizer.decode([dictionary[i] for i in item[:-1].tolist()]))
    return dictionary, lines


def normalised_lines(path):
    """Lines as sentencepiece gives them back: NFKC-normalised (its nmt_nfkc rule), single spaces."""
    lines = collapse_blank_lines(line.strip() for line in open(path, encoding="utf-8"))
    return [" ".join(unicodedata.normalize("NFKC", line).split()) for line in lines]


@pytest.fixture(scope="module")
def messy_corpus(tmp_path_factory):
    """The fixture text with leading blank lines, runs of blank lines and whitespace-only lines."""
    path = tmp_path_factory.mktemp("messy") / "messy.txt"
    documents = CORPUS.read_text().split("\n\n")
    path.write_text("\n \n" + "\n\n  \n\t\n".join("  " + d.replace("\n", "  \n") for d in documents) + "\n\n\n")
    return path


@pytest.fixture(scope="module")
def valid_text(tmp_path_factory):
    path = tmp_path_factory.mktemp("valid") / "valid.txt"
    path.write_text("Statements are executed in order.\nA loop repeats its body.\n\nThe else clause runs last.\n")
    return path


@pytest.fixture(scope="module")
def sp_bin(tmp_path_factory, valid_text):
    return prepare(tmp_path_factory.mktemp("sp") / "bin", "--vocab-size", 700, "--valid-input", valid_text)


def test_sentencepiece_bin_loads_and_round_trips(sp_bin, capsys):
    dictionary, lines = decoded_lines(sp_bin, "train")
    assert lines == normalised_lines(CORPUS)
    _, dataset = load_split(sp_bin, "train")
    assert all(dictionary.unk() not in item for item in dataset)
    assert (sp_bin / "sentencepiece.model").is_file()


def test_dict_has_counts_no_reserved_symbols_and_mask_is_last(sp_bin):
    lines = (sp_bin / "dict.txt").read_text().splitlines()
    symbols = [line.rsplit(" ", 1)[0] for line in lines]
    assert all(line.rsplit(" ", 1)[1].isdigit() for line in lines)
    assert not set(RESERVED_SYMBOLS) & set(symbols)
    assert sum(int(line.rsplit(" ", 1)[1]) for line in lines) > 0
    args = options.parse_args_and_arch(options.get_training_parser(), [str(sp_bin), "--task", "masked_lm", "--arch", "roberta_base"])
    task = tasks.setup_task(args)
    assert task.mask_idx == len(task.source_dictionary) - 1 == len(lines) + 4
    assert [task.source_dictionary[i] for i in range(len(task.source_dictionary))].count("<mask>") == 1


def test_blank_lines_are_normalised(tmp_path, messy_corpus, valid_text):
    data_bin = prepare(tmp_path / "bin", "--vocab-size", 700, "--valid-input", valid_text, inputs=[messy_corpus])
    _, lines = decoded_lines(data_bin, "train")
    assert lines == normalised_lines(CORPUS)
    assert lines[0] != "" and lines[-1] != ""
    assert "" not in [a + b for a, b in zip(lines, lines[1:]) if a == "" or b == ""]  # never two breaks in a row


def test_collapse_blank_lines_unit():
    assert list(collapse_blank_lines(["", "", "a", "b", "", "", "", "c", ""])) == ["a", "b", "", "c"]


def test_summary_lists_counts_and_throughput(tmp_path, valid_text, capsys):
    prepare(tmp_path / "bin", "--vocab-size", 700, "--valid-input", valid_text)
    out = capsys.readouterr().out
    n_docs = len(CORPUS.read_text().strip().split("\n\n"))
    assert f"documents {n_docs + 2} (train {n_docs}, valid 2)" in out
    for word in ("lines", "tokens", "vocab", "MB/s"):
        assert word in out


def test_vocab_size_changes_the_vocabulary(tmp_path, sp_bin, valid_text):
    small = prepare(tmp_path / "small", "--vocab-size", 500, "--valid-input", valid_text)
    n_small = len((small / "dict.txt").read_text().splitlines())
    n_large = len((sp_bin / "dict.txt").read_text().splitlines())
    assert n_small < n_large <= 700


def test_vocab_size_too_large_is_capped_with_a_note(tmp_path, valid_text, capsys):
    data_bin = prepare(tmp_path / "bin", "--vocab-size", 32000, "--valid-input", valid_text)
    assert "capped" in capsys.readouterr().out
    assert len((data_bin / "dict.txt").read_text().splitlines()) < 32000


def test_existing_sp_model_gives_same_ids(tmp_path, sp_bin, valid_text):
    reused = prepare(tmp_path / "bin", "--sp-model", sp_bin / "sentencepiece.model", "--valid-input", valid_text)
    symbols = lambda d: [line.rsplit(" ", 1)[0] for line in (d / "dict.txt").read_text().splitlines()]
    assert symbols(reused) == symbols(sp_bin)
    assert [t.tolist() for t in load_split(reused, "valid")[1]] == [t.tolist() for t in load_split(sp_bin, "valid")[1]]


def test_valid_fraction_and_seed_split_by_documents(tmp_path):
    def valid_lines(name, *flags):
        return decoded_lines(prepare(tmp_path / name, "--vocab-size", 500, *flags), "valid")[1]

    documents = [" ".join(line.split()) for line in CORPUS.read_text().strip().split("\n\n")]
    seed1 = valid_lines("a", "--valid-fraction", 0.3, "--seed", 1)
    seed2 = valid_lines("b", "--valid-fraction", 0.3, "--seed", 2)
    again = valid_lines("c", "--valid-fraction", 0.3, "--seed", 1)
    larger = valid_lines("d", "--valid-fraction", 0.7, "--seed", 1)
    assert seed1 == again and seed1 != seed2
    assert larger.count("") > seed1.count("")
    # Whole documents only: every valid document is a document of the corpus.
    for document in " ".join(seed2).split("  "):
        assert " ".join(document.split()) in " ".join(documents)


def test_several_inputs_are_concatenated(tmp_path, valid_text, capsys):
    prepare(tmp_path / "bin", "--vocab-size", 700, "--valid-input", valid_text, inputs=[CORPUS, CORPUS])
    n_docs = len(CORPUS.read_text().strip().split("\n\n"))
    assert f"(train {2 * n_docs}, valid 2)" in capsys.readouterr().out


def test_workers_give_identical_output(tmp_path, sp_bin, valid_text, monkeypatch):
    seen = record_workers(monkeypatch)
    parallel = prepare(tmp_path / "bin", "--sp-model", sp_bin / "sentencepiece.model", "--valid-input", valid_text, "--workers", 2)
    assert seen and set(seen) == {2}
    for name in ("dict.txt", "train.bin", "train.idx", "valid.bin"):
        assert (parallel / name).read_bytes() == (sp_bin / name).read_bytes()


def test_reserved_pieces_are_left_out_of_dict(tmp_path, valid_text, capsys):
    import sentencepiece as spm

    spm.SentencePieceTrainer.train(input=str(CORPUS), model_prefix=str(tmp_path / "m"), vocab_size=300,
                                   user_defined_symbols=["<mask>", "<pad>"], minloglevel=2)
    data_bin = prepare(tmp_path / "bin", "--sp-model", tmp_path / "m.model", "--valid-input", valid_text)
    assert "left out of dict.txt" in capsys.readouterr().out
    symbols = [line.rsplit(" ", 1)[0] for line in (data_bin / "dict.txt").read_text().splitlines()]
    assert "<mask>" not in symbols and "<pad>" not in symbols and len(symbols) == 300 - 3 - 2


def test_make_tiny_bpe_learns_the_requested_merges(tmp_path):
    from fairseq.data.encoders.gpt2_bpe_utils import get_encoder

    from preprocess.gpt2 import make_tiny_bpe

    assert make_tiny_bpe.main(["--input", str(CORPUS), "--merges", "50", "--output", str(tmp_path)]) == 0
    assert len((tmp_path / "vocab.bpe").read_text().splitlines()) == 1 + 50
    encoder = get_encoder(str(tmp_path / "encoder.json"), str(tmp_path / "vocab.bpe"))
    line = CORPUS.read_text().splitlines()[0]
    assert encoder.decode(encoder.encode(line)) == line
    assert len(encoder.encode(line)) > len(get_encoder(str(FIXTURES / "gpt2" / "encoder.json"), str(FIXTURES / "gpt2" / "vocab.bpe")).encode(line))


def _pid(_):
    return os.getpid()


def test_parallel_map_uses_workers_in_order_with_bounded_read_ahead():
    pulled = []

    def items():
        for i in range(200):
            pulled.append(i)
            yield i

    results = ordered_parallel_map(_pid, items(), 2, int, (0,))
    first = next(results)
    assert first != os.getpid()
    assert len(pulled) <= 2 * 8 + 1  # not the whole input
    assert len(list(results)) == 199
    assert list(ordered_parallel_map(abs, iter([-3, 2, -1]), 2, int, (0,))) == [3, 2, 1]


def test_gpt2_bin_round_trips_exactly(tmp_path, valid_text):
    data_bin = prepare(tmp_path / "bin", "--tokenizer", "gpt2", *GPT2_FLAGS, "--valid-input", valid_text)
    _, lines = decoded_lines(data_bin, "train")
    assert lines == [line for line in collapse_blank_lines(l.strip() for l in open(CORPUS))]
    symbols = [line.split()[0] for line in (data_bin / "dict.txt").read_text().splitlines()]
    assert all(symbol.isdigit() for symbol in symbols) and len(symbols) == 256 + 400 + 1
    assert (data_bin / "encoder.json").is_file() and (data_bin / "vocab.bpe").is_file()


def test_fastbpe_learns_codes_and_round_trips_to_moses_tokens(tmp_path, valid_text):
    data_bin = prepare(tmp_path / "bin", "--tokenizer", "fastbpe", "--vocab-size", 200, "--valid-input", valid_text)
    assert len((data_bin / "bpe.codes").read_text().splitlines()) == 200
    tokenizer = load_tokenizer(data_bin)
    _, lines = decoded_lines(data_bin, "train")
    assert lines == [tokenizer.words.tokenize(line) for line in collapse_blank_lines(l.strip() for l in open(CORPUS))]
    assert any(symbol.endswith("@@") for symbol in (data_bin / "dict.txt").read_text().split())
    assert any(c.isupper() for c in (data_bin / "dict.txt").read_text())

    lowered = prepare(tmp_path / "lower", "--tokenizer", "fastbpe", "--vocab-size", 200, "--lowercase", "--valid-input", valid_text)
    assert not any(c.isupper() for c in (lowered / "dict.txt").read_text())

    reused = prepare(tmp_path / "reused", "--tokenizer", "fastbpe", "--bpe-codes", data_bin / "bpe.codes", "--valid-input", valid_text)
    assert (reused / "train.bin").read_bytes() == (data_bin / "train.bin").read_bytes()


def run_prepare_corpus(*args):
    return subprocess.run([sys.executable, str(REPO / "preprocess" / "pretrain" / "prepare_corpus.py"), *map(str, args)],
                          capture_output=True, text=True)


def test_help_and_missing_input_give_one_clear_line(tmp_path):
    assert "--tokenizer" in run_prepare_corpus("--help").stdout
    result = run_prepare_corpus("--input", tmp_path / "nope.txt", "--output", tmp_path / "bin")
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.txt'}: input file not found — check the path given to --input/--valid-input"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--tokenizer", "gpt2"], "needs --gpt2-encoder-json"),
        (["--tokenizer", "gpt2", *GPT2_FLAGS, "--vocab-size", "10"], "--vocab-size applies only"),
        (["--lowercase"], "only apply to --tokenizer fastbpe"),
        (["--valid-fraction", "1.5"], "between 0 and 1"),
    ],
)
def test_flag_misuse_is_rejected(tmp_path, capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        prepare(tmp_path / "bin", *flags)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_empty_corpus_and_empty_valid_split_fail(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n\n")
    assert prepare_corpus.main(["--input", str(empty), "--output", str(tmp_path / "a")]) == 2
    assert "empty corpus" in capsys.readouterr().err
    assert prepare_corpus.main(["--input", str(CORPUS), "--output", str(tmp_path / "b"),
                                "--valid-input", str(empty)]) == 2
    assert "valid split is empty" in capsys.readouterr().err


def test_stock_masked_lm_trains_on_the_bin(sp_bin, tmp_path):
    fairseq_train(sp_bin, tmp_path, "--task", "masked_lm", "--criterion", "masked_lm", "--sample-break-mode", "complete_doc")


def test_maelm_task_trains_on_the_bin(sp_bin, tmp_path):
    import maelm_fairseq.tasks  # noqa: F401  (registers the plugin: --user-dir skips the package this process imported)

    args = options.parse_args_and_arch(
        options.get_training_parser(), [str(sp_bin), "--user-dir", str(REPO / "maelm_fairseq"), "--task", "maelm", "--arch", "maelm_tiny"]
    )
    task = tasks.setup_task(args)
    assert task.mask_idx == len(task.source_dictionary) - 1
    fairseq_train(sp_bin, tmp_path, "--user-dir", str(REPO / "maelm_fairseq"), "--task", "maelm", "--criterion", "maelm",
                  model=["--arch", "maelm_tiny"])
