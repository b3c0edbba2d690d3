"""dict.txt files of the MAE-LM repository (read by the rules of its fairseq/data/dictionary.py): pieces without
counts with alias pieces, with and without a [MASK] piece, and the counted dict.txt its fairseq-preprocess writes,
give the repository's V, mask index and ids in the maelm, sentence_prediction and maelm_squad tasks; a file in
neither format is one line; maelm pretrains a few updates on such a data-bin."""
import math
import re

import pytest
import torch
from fairseq.data import Dictionary
from fairseq.tasks.sentence_prediction import SentencePredictionConfig, SentencePredictionTask

from helpers import CPU_ENV, TINY_TRAIN, logged_values, run_cli
from fork_fixtures import repository_ids, repository_pieces, write_pieces_dict, write_repository_data_bin
from maelm_fairseq.errors import UserInputError
from maelm_fairseq.pretrain.task import MaelmConfig, MaelmTask
from maelm_fairseq.squad.task import SquadConfig, SquadTask



def assert_repository_semantics(dictionary, mask_idx, pieces):
    ids, vocab, mask = repository_ids(pieces)
    assert (len(dictionary), mask_idx) == (vocab, mask)
    assert dictionary.index("<mask>") == mask
    if "[MASK]" in pieces:
        assert dictionary.index("[MASK]") == mask
    for piece, i in ids.items():
        assert dictionary.index(piece) == i and dictionary[i] == piece
    specials = {"<s>": 0, "[CLS]": 0, "<pad>": 1, "[PAD]": 1, "</s>": 2, "[SEP]": 2, "<unk>": 3, "[UNK]": 3}
    for name, i in specials.items():  # the repository looks these names up as its specials
        assert dictionary.index(name) == i


@pytest.mark.parametrize("with_mask", [True, False])
def test_maelm_task_reads_pieces_without_counts(tmp_path, with_mask):
    pieces = repository_pieces(with_mask)
    write_pieces_dict(tmp_path / "dict.txt", pieces)
    task = MaelmTask.setup_task(MaelmConfig(data=str(tmp_path)))
    assert_repository_semantics(task.source_dictionary, task.mask_idx, pieces)
    if with_mask:
        assert task.mask_idx == 4  # [MASK] is the 8th piece, after 7 aliases
    else:
        assert task.mask_idx == len(task.source_dictionary) - 1


@pytest.mark.parametrize("with_mask", [True, False])
def test_the_counted_dict_the_repository_writes_into_data_bins(tmp_path, with_mask):
    """Its fairseq-preprocess saves the dictionary it loaded: kept pieces with counts, [MASK] by that name."""
    pieces = repository_pieces(with_mask)
    ids, _, _ = repository_ids(pieces)
    (tmp_path / "dict.txt").write_text("".join(f"{p} {1000 - i}\n" for p, i in sorted(ids.items(), key=lambda x: x[1])))
    task = MaelmTask.setup_task(MaelmConfig(data=str(tmp_path)))
    assert_repository_semantics(task.source_dictionary, task.mask_idx, pieces)
    saved = tmp_path / "saved.txt"
    task.source_dictionary.save(str(saved))  # what our fairseq-preprocess writes back reads the same
    reread = Dictionary.load(str(saved))
    assert_repository_semantics(reread, reread.add_symbol("<mask>"), pieces)


def test_fine_tuning_tasks_read_it(tmp_path):
    pieces = repository_pieces(with_mask=True)
    (tmp_path / "input0").mkdir()
    write_pieces_dict(tmp_path / "input0" / "dict.txt", pieces)
    (tmp_path / "label").mkdir()
    (tmp_path / "label" / "dict.txt").write_text("0 5\n1 5\n")
    glue = SentencePredictionTask.setup_task(
        SentencePredictionConfig(data=str(tmp_path), num_classes=2, regression_target=False))
    assert_repository_semantics(glue.source_dictionary, glue.source_dictionary.index("<mask>"), pieces)
    assert (glue.label_dictionary.index("0"), glue.label_dictionary.index("1")) == (4, 5)  # fairseq's format

    write_pieces_dict(tmp_path / "dict.txt", pieces)
    squad = SquadTask.setup_task(SquadConfig(data=str(tmp_path)))
    assert_repository_semantics(squad.dictionary, squad.dictionary.index("<mask>"), pieces)


@pytest.mark.parametrize("lines, line, why", [
    ("▁a 5\n▁b\n", 2, "has no count but line 1 has one"),
    ("▁a\n▁b 5\n", 2, "has a count but line 1 has none"),
    ("▁a\n▁b c d\n", 2, "is neither"),
    ("▁a\n\n▁b\n", 2, "is neither"),
])
def test_a_file_in_neither_format_names_the_line(tmp_path, lines, line, why):
    (tmp_path / "dict.txt").write_text(lines)
    with pytest.raises(UserInputError, match=rf"^{re.escape(str(tmp_path / 'dict.txt'))}: line {line} .*{why}"):
        MaelmTask.setup_task(MaelmConfig(data=str(tmp_path)))


def test_maelm_train_prints_it_as_one_line(tmp_path):
    data = tmp_path / "bin"
    write_repository_data_bin(data, with_mask=True, n_lines=12)
    (data / "dict.txt").write_text("▁a 5\n▁b\n")
    status, output = run_cli(["maelm-train", data, "--task", "maelm", "--criterion", "maelm", "--arch", "maelm_tiny",
                              "--cpu", "--batch-size", 4], check=False, env=CPU_ENV)
    assert status == 2 and "Traceback" not in output
    assert output.strip().splitlines()[-1].startswith(f"error: {data / 'dict.txt'}: line 2 ('▁b') has no count")


@pytest.mark.parametrize("with_mask", [True, False])
def test_maelm_pretrains_on_a_repository_data_bin(tmp_path, with_mask):
    data = tmp_path / "bin"
    _, vocab, mask = write_repository_data_bin(data, with_mask)
    _, output = run_cli(["maelm-train", data, "--task", "maelm", "--criterion", "maelm", "--arch", "maelm_tiny",
                         *TINY_TRAIN, "--max-update", 4, "--save-dir", tmp_path / "ckpt",
                         "--no-save-optimizer-state"], env=CPU_ENV)
    losses = logged_values(output, "loss", kind="valid")
    assert losses and all(0 < loss < 2 * math.log2(vocab) for loss in losses), output[-2000:]
    weights = torch.load(tmp_path / "ckpt" / "checkpoint_last.pt", weights_only=False)["model"]
    assert weights["encoder.sentence_encoder.embed_tokens.weight"].shape[0] == vocab
