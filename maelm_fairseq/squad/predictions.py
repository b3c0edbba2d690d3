"""Start/end logits of sliding-window features -> one answer text (and a null score) per question.

The rules of BERT/HF `compute_predictions_logits`: in every window of a question, pair the `n_best` highest
start and end positions; keep a pair when both ends are context tokens, the start is in the window that gives
it the most context, end >= start and the span has at most `max_answer_length` tokens; rank spans by
start + end logit. For SQuAD v2.0 the null answer scores start[0] + end[0] (the `<s>` position), minimised over
the windows; the question's null score is that minus the best span's score, and the answer is "" when it
exceeds `null_threshold`. Texts come from the character offsets stored with each feature, so no
re-tokenisation is needed (preprocess/squad/README.md describes the feature format).
"""
import math
from typing import Dict, List, NamedTuple, Sequence, Tuple

from .feature_file import span_text


class WindowLogits(NamedTuple):
    """What the model says about one feature: the top start and end (position, logit) pairs and the null score."""
    starts: Sequence[Tuple[int, float]]
    ends: Sequence[Tuple[int, float]]
    null_score: float


def window_spans(logits: WindowLogits, p_mask, max_context, max_answer_length: int):
    """[(score, start, end)] of the admissible spans of one window, best first."""
    def is_context(i):
        return 0 < i < len(p_mask) and not p_mask[i]

    spans = []
    for start, start_logit in logits.starts:
        if not is_context(start) or not max_context[start]:
            continue
        for end, end_logit in logits.ends:
            if is_context(end) and start <= end < start + max_answer_length:
                spans.append((start_logit + end_logit, start, end))
    return sorted(spans, reverse=True)


def predict_answers(examples: List[dict], features: List[dict], outputs: Dict[int, WindowLogits],
                    max_answer_length: int = 30, with_null: bool = False, null_threshold: float = 0.0):
    """examples/features: as stored by preprocess/squad; outputs: {feature index: WindowLogits}.

    Returns ({qas_id: answer text}, {qas_id: null score}) for every question with at least one scored window.
    The null score is +inf when no window holds an admissible span (the answer is then "")."""
    by_question: Dict[int, List[int]] = {}
    for index in sorted(outputs):
        by_question.setdefault(features[index]["example_index"], []).append(index)

    answers, null_scores = {}, {}
    for example_index, feature_indices in by_question.items():
        example = examples[example_index]
        best = None  # (score, feature index, start, end)
        null_score = math.inf
        for index in feature_indices:
            feature, logits = features[index], outputs[index]
            null_score = min(null_score, logits.null_score)
            p_mask = feature["p_mask"].tolist()
            max_context = feature["token_is_max_context"].tolist()
            spans = window_spans(logits, p_mask, max_context, max_answer_length)
            if spans and (best is None or spans[0][0] > best[0]):
                best = (spans[0][0], index, spans[0][1], spans[0][2])
        qid = example["qas_id"]
        text = "" if best is None else span_text(example["context"], features[best[1]]["offsets"], best[2], best[3])
        if with_null:
            null_scores[qid] = math.inf if best is None else null_score - best[0]
            if null_scores[qid] > null_threshold:
                text = ""
        answers[qid] = text
    return answers, null_scores
