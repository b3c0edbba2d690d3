"""`--tokenizer maelm-sentencepiece`: one test per rule of the MAE-LM repository's pre-tokenizer on hand-written
lines, the lone-'▁' rule, and id parity: on a few hundred corpus lines the data-bin written by prepare_corpus.py holds
exactly the ids that the repository's rules give (its SentencepieceBPE and Dictionary, github.com/yumeng5/MAE-LM),
computed here by a reference written from those rules (string replaces and regexes, not the pipeline's code). Then
the GLUE and SQuAD pipelines with --tokenizer/--sp-model on a data-bin laid out as the repository leaves it (dict.txt
without counts, sp.model, no tokenizer.json)."""
import re
import string
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import sentencepiece as spm
import torch
from fairseq.data import Dictionary, data_utils

import maelm_fairseq.tasks  # noqa: F401  (reads the repository's dict.txt)
from maelm_fairseq.data.fork_dictionary import write_repository_dict
from preprocess.glue import prepare_glue
from preprocess.pretrain import prepare_corpus
from preprocess.tokenizers.maelm_pretokenizer import pretokenize
from preprocess.tokenizers.maelm_sentencepiece_tokenizer import MaelmSentencepieceTokenizer, lone_spaces

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SPM_SYMBOLS = ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"]  # pieces aliasing fairseq's specials, and a mask
RULE_LINES = [  # lines that exercise every rule at least once, added to the corpus lines
    "“Curly” ‘quotes’ — and – dashes´ here",
    "``Doubled'' quotes, and ’’ two closing ones",
    "(Parenthesised), U.S. ... ¿qué? [MASK] [CLS] x",
    "John ' s dog ; we ' ll see ; they ' re here ; I ' ve ; it' LL.x ; don ' t ; she ' d ; rock 'n' roll",
    "a -- b --c d-- ( e ) 'quoted' and \"double\" end !",
]


# ----- reference written from the repository's SentencepieceBPE and Dictionary rules -----------------------------

def ref_is_punctuation(char):
    return char in string.punctuation or unicodedata.category(char).startswith("P")


def ref_pretokenize(line):
    line = line.strip().replace("``", '"').replace("''", '"')
    for curly, plain in zip("‘’´“”—–", "'''\"\"--"):
        line = line.replace(curly, plain)
    words = []
    for word in line.split():
        flags = [ref_is_punctuation(c) for c in word]
        if len(word) > 1 and not all(flags) and (flags[0] or flags[-1]):
            first, last = flags.index(False), len(word) - flags[::-1].index(False)
            words += [part for part in (word[:first], word[first:last], word[last:]) if part]
        else:
            words.append(word)
    line = " ".join(words)
    line = re.sub(r"' ([smdSMDtT])\b", r"'\1", line)
    for clitic in ("ll", "re", "ve"):
        line = re.sub(rf"' {clitic}\b", f"'{clitic}", line)
    for clitic in ("LL", "RE", "VE"):
        line = re.sub(rf"' {clitic}\b", f"'{clitic} ", line)
    return " ".join(line.split())


def ref_pieces(processor, line):
    pieces = processor.encode(ref_pretokenize(line), out_type=str)
    return [p for i, p in enumerate(pieces)
            if not (p == "▁" and (i + 1 == len(pieces) or ref_is_punctuation(pieces[i + 1][0])))]


def ref_vocabulary(processor):
    """The repository's Dictionary: <s> <pad> </s> <unk> are 0-3 and the pieces spelled like them or like [CLS]
    [PAD] [SEP] [UNK] are skipped (those names look up the special); every other piece follows in order; [MASK], when
    it is a piece, is the mask, else <mask> is appended. Returns (piece -> id, V, mask id)."""
    ids = {"<s>": 0, "[CLS]": 0, "<pad>": 1, "[PAD]": 1, "</s>": 2, "[SEP]": 2, "<unk>": 3, "[UNK]": 3}
    next_id = 4
    for piece in (processor.id_to_piece(i) for i in range(processor.get_piece_size())):
        if piece not in ids:
            ids[piece], next_id = next_id, next_id + 1
    if "[MASK]" in ids:
        return ids, next_id, ids["[MASK]"]
    return ids, next_id + 1, next_id


def ref_normalized(text):
    """The characters of the input as the pre-tokenizer maps them (to compare SQuAD offsets with pieces)."""
    text = text.replace("``", '"').replace("''", '"')
    for curly, plain in zip("‘’´“”—–", "'''\"\"--"):
        text = text.replace(curly, plain)
    return text


def ref_ids(processor, vocabulary, line):
    return [vocabulary.get(piece, 3) for piece in ref_pieces(processor, line)]


# ----- fixtures ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sp_model(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("sp") / "sp"
    spm.SentencePieceTrainer.train(input=str(FIXTURES / "corpus.txt"), model_prefix=str(prefix), vocab_size=400,
                                   model_type="bpe", user_defined_symbols=SPM_SYMBOLS, hard_vocab_limit=False,
                                   minloglevel=2)
    return Path(f"{prefix}.model")


@pytest.fixture(scope="module")
def processor(sp_model):
    return spm.SentencePieceProcessor(model_file=str(sp_model))


@pytest.fixture(scope="module")
def corpus_lines():
    """A few hundred lines: the fixture corpus (Python documentation prose, curly quotes included) and the rule
    lines, 5 times over with small variations so the pipeline keeps them as separate lines."""
    lines = [line.strip() for line in (FIXTURES / "corpus.txt").read_text().splitlines() if line.strip()]
    lines += RULE_LINES
    return [f"{line} ({n})" if n else line for n in range(5) for line in lines]


@pytest.fixture(scope="module")
def repository_bin(tmp_path_factory, sp_model, processor):
    """A data-bin as the repository's scripts leave it, minus the .bin files: dict.txt from get_vocab.py (every
    piece, no counts) and sp.model; no tokenizer.json."""
    out = tmp_path_factory.mktemp("repository_bin")
    write_repository_dict(out / "dict.txt", [processor.id_to_piece(i) for i in range(processor.get_piece_size())])
    (out / "sp.model").write_bytes(sp_model.read_bytes())
    return out


# ----- one test per rule -------------------------------------------------------------------------------------------

def test_curly_quotes_and_dashes_become_ascii():
    assert pretokenize("“Hi” said ‘she’ a—b a–b it´s") == "\" Hi \" said ' she ' a-b a-b it's"


def test_doubled_quotes_become_one_double_quote_before_curly_ones_are_mapped():
    assert pretokenize("``Hi'' she said") == '" Hi " she said'
    assert pretokenize("a ’’b") == "a '' b"  # ’’ turns into two apostrophes, not into "


def test_leading_and_trailing_punctuation_runs_split_off():
    assert pretokenize("  (hello), U.S. ... ¿qué? don't x-y  ") == "( hello ), U.S . ... ¿ qué ? don't x-y"


def test_clitics_rejoin_the_quote():
    assert pretokenize("John ' s dog") == "John 's dog"
    assert pretokenize("we ' ll , you ' re , I ' ve , don ' t , she ' d , I ' m") == \
        "we 'll , you 're , I 've , don 't , she 'd , I 'm"
    assert pretokenize("it ' sa , rock 'n' roll") == "it ' sa , rock ' n ' roll"  # no word boundary / no clitic
    assert pretokenize("I' LL.x") == "I 'LL .x"  # upper case: the rest of the token splits off


def test_lone_space_piece_dropped_at_the_end_and_before_punctuation():
    assert lone_spaces(["▁", ",", "▁a", "▁", "▁b", "▁", "("]) == {0, 5}
    assert lone_spaces(["▁a", "▁"]) == {1}
    assert lone_spaces(["▁", "▁a", "▁", "b"]) == set()


def test_rules_match_the_reference_on_hand_written_lines():
    for line in RULE_LINES:
        assert pretokenize(line) == ref_pretokenize(line), line


# ----- parity check 21 ---------------------------------------------------------------------------------------------

def test_corpus_data_bin_holds_the_repository_ids(tmp_path, sp_model, processor, corpus_lines):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(corpus_lines) + "\n")  # one document: the train split keeps the lines in order
    out = tmp_path / "bin"
    assert prepare_corpus.main(["--input", str(corpus), "--valid-input", str(FIXTURES / "corpus.txt"), "--output", str(out),
                         "--tokenizer", "maelm-sentencepiece", "--sp-model", str(sp_model)]) == 0
    vocabulary, size, mask = ref_vocabulary(processor)
    dictionary = Dictionary.load(str(out / "dict.txt"))
    assert dictionary.add_symbol("<mask>") == mask == vocabulary["[MASK]"] == 4  # [MASK] is piece 7, after 3 aliases
    assert len(dictionary) == size == processor.get_piece_size() - 7 + 4
    dataset = data_utils.load_indexed_dataset(str(out / "train"), dictionary)
    assert len(dataset) == len(corpus_lines)
    dropped_spaces = 0
    for line, item in zip(corpus_lines, dataset):
        expected = ref_ids(processor, vocabulary, line) + [dictionary.eos()]
        assert item.tolist() == expected, line
        dropped_spaces += processor.encode(ref_pretokenize(line), out_type=str).count("▁") - \
            ref_pieces(processor, line).count("▁")
    assert dropped_spaces > 0  # the lone-▁ rule was exercised
    tokenizer = MaelmSentencepieceTokenizer(out / "sentencepiece.model")
    assert tokenizer.vocabulary() == [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def test_corpus_pipeline_needs_the_sentencepiece_model(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "preprocess" / "pretrain" / "prepare_corpus.py"), "--input",
                           str(FIXTURES / "corpus.txt"), "--output", str(tmp_path / "bin"), "--tokenizer",
                           "maelm-sentencepiece"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--tokenizer maelm-sentencepiece needs --sp-model" in proc.stderr


# ----- GLUE and SQuAD on a repository data-bin ---------------------------------------------------------------------

def test_glue_with_the_repository_tokenizer_and_dict(tmp_path, repository_bin, processor):
    flags = ["--glue-dir", str(FIXTURES / "glue"), "--tasks", "RTE", "--tokenizer-dir", str(repository_bin),
             "--output", str(tmp_path)]
    proc = subprocess.run([sys.executable, str(REPO / "preprocess" / "glue" / "prepare_glue.py"), *flags],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--tokenizer maelm-sentencepiece --sp-model" in proc.stderr  # no tokenizer.json

    assert prepare_glue.main(flags + ["--tokenizer", "maelm-sentencepiece", "--sp-model", str(repository_bin / "sp.model")]) == 0
    vocabulary, size, mask = ref_vocabulary(processor)
    rows = [line.split("\t") for line in (FIXTURES / "glue" / "RTE" / "train.tsv").read_text().splitlines()[1:]]
    for column, name in ((1, "input0"), (2, "input1")):
        dictionary = Dictionary.load(str(tmp_path / "RTE-bin" / name / "dict.txt"))
        assert dictionary.add_symbol("<mask>") == mask and len(dictionary) == size  # as sentence_prediction sees it
        dataset = data_utils.load_indexed_dataset(str(tmp_path / "RTE-bin" / name / "train"), dictionary)
        assert [item.tolist() for item in dataset] == \
            [ref_ids(processor, vocabulary, row[column]) + [dictionary.eos()] for row in rows]


def test_squad_with_the_repository_tokenizer_and_dict(tmp_path, repository_bin, processor):
    script = REPO / "preprocess" / "squad" / "prepare_squad.py"
    flags = ["--train-json", str(FIXTURES / "squad_v2_tiny.json"), "--tokenizer-dir", str(repository_bin),
             "--output", str(tmp_path / "out"), "--max-seq-length", "256"]
    proc = subprocess.run([sys.executable, str(script), *flags, "--tokenizer", "maelm-sentencepiece"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "needs --sp-model" in proc.stderr
    subprocess.run([sys.executable, str(script), *flags, "--tokenizer", "maelm-sentencepiece", "--sp-model",
                    str(repository_bin / "sp.model")], check=True, capture_output=True)
    stored = torch.load(tmp_path / "out" / "train.pt", weights_only=False)
    vocabulary, _, _ = ref_vocabulary(processor)
    pieces = {i: p for p, i in vocabulary.items() if i > 3}
    checked = 0
    for feature in stored["features"]:
        example = stored["examples"][feature["example_index"]]
        query = ref_ids(processor, vocabulary, example["question"])
        # the repository's SQuAD reader encodes each whitespace-separated word of the context on its own
        context = [i for word in re.split(r"[ \t\r\n\u202f]+", example["context"]) if word
                   for i in ref_ids(processor, vocabulary, word)]
        ids = feature["input_ids"].tolist()
        assert ids[:len(query) + 3] == [0] + query + [2, 2] and ids[-1] == 2
        window = ids[len(query) + 3:-1]
        assert any(context[k:k + len(window)] == window for k in range(len(context) - len(window) + 1))
        for (start, end), piece_id in zip(feature["offsets"][len(query) + 3:-1].tolist(), window):
            if piece_id in pieces and not pieces[piece_id].startswith("<0x"):  # not <unk>, not a byte piece
                assert ref_normalized(example["context"][start:end]) == pieces[piece_id].lstrip("▁")
                checked += 1
    assert checked > 100
