"""SQuAD evaluation and answer extraction against hand-computed values (no model involved)."""
import math

import pytest
import torch

from maelm_fairseq.squad.evaluate import exact_match, f1_score, normalize_answer, squad_evaluate
from maelm_fairseq.squad.predictions import WindowLogits, predict_answers


@pytest.mark.parametrize("text, expected", [
    ("The  Quick, brown fox!", "quick brown fox"),
    ("An apple a day", "apple day"),
    ("the theater", "theater"),  # articles only as whole words
    ("  \"Hello\"\t(world) ", "hello world"),
    ("", ""),
])
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_exact_and_f1_by_hand():
    assert exact_match("the Eiffel Tower", "Eiffel tower.") == 1
    assert exact_match("Eiffel Tower", "Tower") == 0
    # gold [cat, sat, on, mat], prediction [cat, on, hat]: overlap 2, P = 2/3, R = 1/2, F1 = 4/7
    assert f1_score("the cat sat on the mat", "a cat on a hat") == pytest.approx(4 / 7)
    # bags, not sets: gold {x: 2, y: 1}, prediction {x: 1, y: 2} share 2 tokens: P = R = 2/3
    assert f1_score("x x y", "x y y") == pytest.approx(2 / 3)
    assert f1_score("", "") == 1.0 and f1_score("", "x") == 0.0 and f1_score("x", "") == 0.0
    assert f1_score("a b", "c d") == 0.0


def test_v1_scores_take_the_best_gold_answer():
    golds = {"q1": ["Denver Broncos", "Broncos"], "q2": ["1999"], "q3": ["the cat sat on the mat"]}
    result = squad_evaluate(golds, {"q1": "the Broncos", "q2": "1999", "q3": "a cat on a hat"})
    assert result["exact"] == pytest.approx(200 / 3)
    assert result["f1"] == pytest.approx(100 * (1 + 1 + 4 / 7) / 3)
    assert result["total"] == 3 and "NoAns_total" not in result and "best_f1" not in result

    # one gold only for q1: P = 1, R = 1/2 -> F1 2/3
    result = squad_evaluate({"q1": ["Denver Broncos"], "q2": ["1999"], "q3": ["the cat sat on the mat"]},
                            {"q1": "Broncos", "q2": "1999", "q3": "a cat on a hat"})
    assert result["exact"] == pytest.approx(100 / 3)
    assert result["f1"] == pytest.approx(100 * (2 / 3 + 1 + 4 / 7) / 3)


def test_v2_null_threshold_breakdown_and_best_thresholds():
    golds = {"a": ["Paris"], "b": [], "c": ["blue whale"], "d": []}
    predictions = {"a": "Paris", "b": "", "c": "whale", "d": "London"}
    null_scores = {"a": -2.0, "b": 3.0, "c": 0.5, "d": 1.5}
    result = squad_evaluate(golds, predictions, null_scores, null_threshold=1.0)
    # d's null score 1.5 > 1.0: counted as answered "" and right; c keeps "whale" (F1 2/3)
    assert result["exact"] == pytest.approx(75.0)
    assert result["f1"] == pytest.approx(100 * (1 + 1 + 2 / 3 + 1) / 4)
    assert (result["HasAns_exact"], result["HasAns_total"]) == (pytest.approx(50.0), 2)
    assert result["HasAns_f1"] == pytest.approx(100 * (1 + 2 / 3) / 2)
    assert (result["NoAns_exact"], result["NoAns_f1"], result["NoAns_total"]) == (100.0, 100.0, 2)
    # sweep (sorted by null score): start 2 (b, d as null); a +1 -> 3 @ -2; c +0 (exact) / +2/3 (f1) @ 0.5;
    # d answered "London" -1; b already "" +0
    assert (result["best_exact"], result["best_exact_thresh"]) == (pytest.approx(75.0), -2.0)
    assert (result["best_f1"], result["best_f1_thresh"]) == (pytest.approx(100 * (3 + 2 / 3) / 4), 0.5)


def test_v2_threshold_drops_a_confident_wrong_answer():
    golds = {"a": ["Paris"], "d": []}
    low = squad_evaluate(golds, {"a": "Paris", "d": "London"}, {"a": -2.0, "d": 0.5}, null_threshold=1.0)
    high = squad_evaluate(golds, {"a": "Paris", "d": "London"}, {"a": -2.0, "d": 0.5}, null_threshold=0.0)
    assert low["exact"] == 50.0 and high["exact"] == 100.0


def test_no_matching_prediction_is_an_error():
    with pytest.raises(ValueError, match="no prediction"):
        squad_evaluate({"a": ["x"]}, {"b": "x"})


# A one-window feature for "Who sat?" over the context below, laid out as preprocess/squad writes it:
# <s> who sat ? </s> </s> The cat sat on the mat. </s>   (a word's piece also covers the space before it)
CONTEXT = "The cat sat on the mat."
CONTEXT_OFFSETS = [(0, 3), (3, 7), (7, 11), (11, 14), (14, 18), (18, 23)]
FIRST = 6  # input position of "The"


def feature(example_index=0, max_context=None, context_offsets=CONTEXT_OFFSETS):
    n = FIRST + len(context_offsets) + 1
    max_context = [True] * len(context_offsets) if max_context is None else max_context
    return {
        "example_index": example_index,
        "p_mask": torch.tensor([0] + [1] * (FIRST - 1) + [0] * len(context_offsets) + [1], dtype=torch.uint8),
        "offsets": torch.tensor([(-1, -1)] * FIRST + context_offsets + [(-1, -1)], dtype=torch.int32),
        "token_is_max_context": torch.tensor([False] * FIRST + max_context + [False]),
        "input_ids": torch.zeros(n, dtype=torch.int32),
    }


EXAMPLES = [{"qas_id": "q", "context": CONTEXT, "answers": [{"text": "cat", "answer_start": 4}], "is_impossible": False}]


def test_best_admissible_span_becomes_the_answer_text():
    logits = WindowLogits(
        starts=[(2, 9.0), (FIRST + 1, 3.0), (FIRST + 4, 2.5)],  # position 2 is the question: never a start
        ends=[(FIRST, 8.0), (FIRST + 2, 2.0), (FIRST + 5, 1.0)],  # "The" ends before any admissible start
        null_score=-1.0)
    answers, nulls = predict_answers(EXAMPLES, [feature()], {0: logits})
    assert answers == {"q": "cat sat"} and nulls == {}
    answers, _ = predict_answers(EXAMPLES, [feature()], {0: logits}, max_answer_length=1)
    assert answers == {"q": ""}  # every candidate pair spans 2+ tokens
    not_max = [True, False, True, True, True, True]  # "cat" has more context in another window
    answers, _ = predict_answers(EXAMPLES, [feature(max_context=not_max)], {0: logits})
    assert answers == {"q": "the mat."}


def test_impossible_question_predicts_null_when_its_score_wins():
    span = [(FIRST + 1, 3.0)], [(FIRST + 2, 2.0)]  # best span "cat sat" scores 5.0
    answers, nulls = predict_answers(EXAMPLES, [feature()], {0: WindowLogits(*span, null_score=6.0)}, with_null=True)
    assert answers == {"q": ""} and nulls["q"] == pytest.approx(1.0)
    answers, nulls = predict_answers(EXAMPLES, [feature()], {0: WindowLogits(*span, null_score=4.0)}, with_null=True)
    assert answers == {"q": "cat sat"} and nulls["q"] == pytest.approx(-1.0)
    # a higher threshold keeps the span even though null wins by 1.0
    answers, _ = predict_answers(EXAMPLES, [feature()], {0: WindowLogits(*span, null_score=6.0)}, with_null=True,
                                 null_threshold=1.5)
    assert answers == {"q": "cat sat"}


def test_windows_of_a_question_are_combined():
    # two windows: the null score is the lowest over windows, the span the best over windows
    first = WindowLogits([(FIRST + 1, 1.0)], [(FIRST + 1, 1.0)], null_score=7.0)  # "cat", 2.0
    second = WindowLogits([(FIRST + 4, 2.0)], [(FIRST + 5, 2.0)], null_score=3.0)  # "the mat.", 4.0
    answers, nulls = predict_answers(EXAMPLES, [feature(), feature()], {0: first, 1: second}, with_null=True)
    assert answers == {"q": "the mat."} and nulls["q"] == pytest.approx(3.0 - 4.0)


def test_no_admissible_span_answers_null():
    logits = WindowLogits([(1, 5.0)], [(1, 5.0)], null_score=0.0)
    answers, nulls = predict_answers(EXAMPLES, [feature()], {0: logits}, with_null=True)
    assert answers == {"q": ""} and math.isinf(nulls["q"])
