"""The official SQuAD evaluation (v2.0 script, which also scores v1.1), re-implemented as plain functions.

- answers are compared after normalisation: lower case, punctuation removed, articles (a/an/the) removed,
  whitespace collapsed;
- exact match and bag-of-tokens F1 take the maximum over the gold answers; a question without gold answers
  (v2.0 "impossible") has the single gold answer "";
- with null scores (v2.0), a question whose null score exceeds the threshold counts as answered with "", and
  the best threshold for exact and F1 is searched as the official script does (best_exact, best_f1 and their
  thresholds).

`evaluate_prediction_files` scores submission files (predictions.json, null_odds.json) as the official script
does. All scores are percentages. On v1.1 data the numbers equal the v1.1 script's, except that a gold answer that
normalises to the empty string is ignored here (as v2.0 does); SQuAD's dev sets contain none.
"""
import collections
import json
import re
import string

from ..errors import UserInputError

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = set(string.punctuation)


def normalize_answer(text: str) -> str:
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_tokens(text: str):
    return normalize_answer(text).split() if text else []


def exact_match(gold: str, prediction: str) -> int:
    return int(normalize_answer(gold) == normalize_answer(prediction))


def f1_score(gold: str, prediction: str) -> float:
    gold_tokens, pred_tokens = answer_tokens(gold), answer_tokens(prediction)
    if not gold_tokens or not pred_tokens:
        return float(gold_tokens == pred_tokens)  # both empty: 1 (correct "no answer"), else 0
    common = collections.Counter(gold_tokens) & collections.Counter(pred_tokens)
    overlap = sum(common.values())
    if overlap == 0:
        return 0.0
    precision, recall = overlap / len(pred_tokens), overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def gold_answers(answers):
    """Gold texts that survive normalisation; [""] for a question without any (unanswerable)."""
    texts = [a["text"] if isinstance(a, dict) else a for a in answers]
    return [t for t in texts if normalize_answer(t)] or [""]


def raw_scores(golds, predictions):
    """{qid: exact}, {qid: f1} for every qid in golds ({qid: [gold texts]}) that has a prediction."""
    exact, f1 = {}, {}
    for qid, answers in golds.items():
        if qid not in predictions:
            continue
        exact[qid] = max(exact_match(gold, predictions[qid]) for gold in answers)
        f1[qid] = max(f1_score(gold, predictions[qid]) for gold in answers)
    return exact, f1


def apply_null_threshold(scores, null_scores, has_answer, threshold):
    """A question whose null score is above `threshold` is answered with "": right iff it has no answer."""
    return {qid: float(not has_answer[qid]) if null_scores[qid] > threshold else score
            for qid, score in scores.items()}


def _summary(exact, f1, qids=None):
    qids = list(exact) if qids is None else qids
    total = len(qids)
    return {
        "exact": 100.0 * sum(exact[q] for q in qids) / total if total else 0.0,
        "f1": 100.0 * sum(f1[q] for q in qids) / total if total else 0.0,
        "total": total,
    }


def best_threshold(predictions, scores, null_scores, has_answer):
    """(best score in %, threshold): sweep the threshold over the sorted null scores, starting from "every question
    answered with null" (which scores the unanswerable ones), exactly as the official script does."""
    current = best = sum(1 for qid in scores if not has_answer[qid])
    threshold = 0.0
    for qid in sorted(scores, key=lambda q: null_scores[q]):
        if has_answer[qid]:
            current += scores[qid]
        elif predictions[qid]:
            current -= 1
        if current > best:
            best, threshold = current, null_scores[qid]
    return 100.0 * best / len(scores), threshold


def squad_evaluate(golds, predictions, null_scores=None, null_threshold=1.0):
    """golds: {qid: [gold answer texts]} ([] for unanswerable); predictions: {qid: text}; null_scores: {qid: score},
    higher = more likely unanswerable (v2.0; HF passes start+end null logit minus the best span's).

    Returns exact, f1, total, HasAns_*/NoAns_* for each kind of question present, and with null scores best_exact,
    best_exact_thresh, best_f1, best_f1_thresh. Questions without a prediction are skipped, as the official
    script does with a missing prediction (it warns; here the caller decides)."""
    golds = {qid: gold_answers(answers) for qid, answers in golds.items()}
    has_answer = {qid: answers != [""] for qid, answers in golds.items()}
    exact, f1 = raw_scores(golds, predictions)
    if not exact:
        raise ValueError("no prediction matches a gold question id")
    if null_scores is not None:
        exact_t = apply_null_threshold(exact, null_scores, has_answer, null_threshold)
        f1_t = apply_null_threshold(f1, null_scores, has_answer, null_threshold)
    else:
        exact_t, f1_t = exact, f1
    result = _summary(exact_t, f1_t)
    answered = [q for q in exact if has_answer[q]]
    unanswerable = [q for q in exact if not has_answer[q]]
    for prefix, qids in (("HasAns_", answered), ("NoAns_", unanswerable)):
        if qids:  # as the official script: a breakdown for each kind present
            result.update({prefix + k: v for k, v in _summary(exact_t, f1_t, qids).items()})
    if null_scores is not None:
        result["best_exact"], result["best_exact_thresh"] = best_threshold(predictions, exact, null_scores, has_answer)
        result["best_f1"], result["best_f1_thresh"] = best_threshold(predictions, f1, null_scores, has_answer)
    return result


def read_gold_answers(dataset_path):
    """{question id: [gold answer texts]} of an official SQuAD json, in file order ([] for an unanswerable one)."""
    with open(dataset_path, encoding="utf-8") as handle:
        articles = json.load(handle)["data"]
    return {qa["id"]: [a["text"] for a in qa["answers"]]
            for article in articles for paragraph in article["paragraphs"] for qa in paragraph["qas"]}


def evaluate_prediction_files(dataset_path, predictions_path, null_odds_path=None, null_threshold=1.0):
    """The official script on files: `evaluate-v2.0.py DATASET PREDICTIONS [--na-prob-file NULL_ODDS]
    [--na-prob-thresh T]` (v1.1: without the null odds). The official script needs an answer to every question
    (it fails on a missing one) and null odds for every answered question; so does this."""
    golds = read_gold_answers(dataset_path)
    with open(predictions_path, encoding="utf-8") as handle:
        predictions = json.load(handle)
    missing = [qid for qid in golds if qid not in predictions]
    if missing:
        raise UserInputError(f"{predictions_path}: no answer to {len(missing)} of the {len(golds)} questions of "
                             f"{dataset_path} (first: {missing[0]}) — predict on features made from that json")
    null_scores = None
    if null_odds_path is not None:
        with open(null_odds_path, encoding="utf-8") as handle:
            null_scores = json.load(handle)
        missing = [qid for qid in golds if qid not in null_scores]
        if missing:
            raise UserInputError(f"{null_odds_path}: no null odds for {len(missing)} questions (first: {missing[0]})"
                                 f" — write it with the predictions of {predictions_path}")
    return squad_evaluate(golds, predictions, null_scores, null_threshold)
