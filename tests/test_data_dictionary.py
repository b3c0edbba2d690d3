"""One reader of a data-bin's dict.txt (maelm_fairseq/data/dictionary.py) behind the maelm and maelm_squad tasks, the
HF export and the SQuAD / corpus pipelines: the same ids everywhere, and the same one-line refusals."""
import pytest

from maelm_fairseq.data.dictionary import load_dictionary
from maelm_fairseq.errors import UserInputError
from maelm_fairseq.export.tokenizer_files import find_tokenizer_files
from maelm_fairseq.pretrain.task import MaelmConfig, MaelmTask
from maelm_fairseq.squad.task import SquadConfig, SquadTask

SQUAD_MISSING = "DATA must be the --output directory of preprocess/squad/prepare_squad.py"


def squad_dictionary(data):
    return SquadTask.setup_task(SquadConfig(data=str(data))).source_dictionary


def export_dictionary(data):
    return find_tokenizer_files(str(data), sp_model=__file__).dictionary  # any existing file: only ids are read


@pytest.mark.parametrize("load", [squad_dictionary, export_dictionary])
def test_mask_comes_last_as_in_pretraining(tmp_path, load):
    (tmp_path / "dict.txt").write_text("the 9\nof 5\nand 2\n")
    pretraining = MaelmTask.setup_task(MaelmConfig(data=str(tmp_path)))
    dictionary = load(tmp_path)
    assert dictionary.symbols == pretraining.source_dictionary.symbols
    assert dictionary.index("<mask>") == pretraining.mask_idx == 7 == len(dictionary) - 1
    # the maelm task adds <mask> once (fairseq's MaskedLMTask does): its count, a --freq-weighted-replacement
    # weight, stays 1
    assert pretraining.source_dictionary.count[pretraining.mask_idx] == 1


@pytest.mark.parametrize("text,message", [
    (None, f"dict.txt: dictionary not found; {SQUAD_MISSING}"),
    ("the 9\nthe 5\n", r"dict.txt: not a fairseq dictionary \(Duplicate word .*\); each line must be `<token> <count>`"),
    ("", "dict.txt: the dictionary has no symbols; regenerate it with fairseq-preprocess"),
])
def test_squad_task_refuses_a_bad_dict_in_one_line(tmp_path, text, message):
    """The squad task used to read dict.txt with fairseq's bare Dictionary.load: tracebacks for these."""
    if text is not None:
        (tmp_path / "dict.txt").write_text(text)
    with pytest.raises(UserInputError, match=message) as error:
        squad_dictionary(tmp_path)
    assert "\n" not in str(error.value)


def test_the_caller_says_where_dict_txt_comes_from(tmp_path):
    with pytest.raises(UserInputError, match=r"dict.txt: dictionary not found; the data directory must hold the "
                                             r"dict.txt written by fairseq-preprocess"):
        load_dictionary(str(tmp_path / "dict.txt"))
    with pytest.raises(UserInputError, match="dict.txt: dictionary not found; --data must be a fairseq data-bin"):
        export_dictionary(tmp_path)
