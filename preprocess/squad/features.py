"""Sliding-window SQuAD features in RoBERTa pair layout: <s> question </s> </s> context-window </s>.

For each window we keep what training needs (ids, p_mask, start/end labels) and what evaluation needs to
turn a predicted token span back into context text (character offsets of every context token, and whether
this window is the one giving the token its most context, as BERT's run_squad does).
"""
import torch

IGNORED_LABEL = -1  # start/end of an answer that cannot be located in the tokenized context


def window_starts(n_tokens, max_tokens, stride):
    """(start, length) of the context windows: each starts `stride` after the previous, the last reaches the end."""
    spans, start = [], 0
    while True:
        length = min(n_tokens - start, max_tokens)
        spans.append((start, length))
        if start + length >= n_tokens:
            return spans
        start += min(length, stride)


def is_max_context(spans, span_index, position):
    """True when `position` has more surrounding context in this span than in any other."""
    best_score, best_index = None, None
    for index, (start, length) in enumerate(spans):
        end = start + length - 1
        if not start <= position <= end:
            continue
        score = min(position - start, end - position) + 0.01 * length
        if best_score is None or score > best_score:
            best_score, best_index = score, index
    return best_index == span_index


def answer_token_span(offsets, answer):
    """(first, last) context-token index covering the answer's characters, or None when it cannot be found."""
    start_char = answer["answer_start"]
    end_char = start_char + len(answer["text"])
    first = next((i for i, (s, e) in enumerate(offsets) if e > start_char), None)
    last = next((i for i in reversed(range(len(offsets))) if offsets[i][0] < end_char), None)
    if first is None or last is None or last < first:
        return None
    return first, last


def build_features(example_index, example, tokenizer, dictionary, max_seq_length, doc_stride, max_query_length):
    """All window features of one example; also returns whether its gold answer could be located."""
    query_ids = [dictionary.index(piece) for piece in tokenizer.encode(example.question).split()][:max_query_length]
    pieces, offsets = tokenizer.encode_with_offsets(example.context)
    context_ids = [dictionary.index(piece) for piece in pieces]
    gold = None
    if not example.is_impossible:
        answer = example.answers[0]
        if example.context[answer["answer_start"]:answer["answer_start"] + len(answer["text"])] == answer["text"]:
            gold = answer_token_span(offsets, answer)

    context_offset = len(query_ids) + 3  # <s> query </s> </s>
    max_context_tokens = max_seq_length - len(query_ids) - 4
    spans = window_starts(len(context_ids), max_context_tokens, doc_stride)
    features = []
    for span_index, (start, length) in enumerate(spans):
        input_ids = [dictionary.bos()] + query_ids + [dictionary.eos()] * 2 + context_ids[start:start + length] + [dictionary.eos()]
        p_mask = [0] + [1] * (len(query_ids) + 2) + [0] * length + [1]
        token_offsets = [(-1, -1)] * context_offset + offsets[start:start + length] + [(-1, -1)]
        max_context = [False] * context_offset + [
            is_max_context(spans, span_index, start + i) for i in range(length)
        ] + [False]
        if example.is_impossible:
            start_position = end_position = 0
        elif gold is None:
            start_position = end_position = IGNORED_LABEL
        elif start <= gold[0] and gold[1] < start + length:
            start_position, end_position = gold[0] - start + context_offset, gold[1] - start + context_offset
        else:
            start_position = end_position = 0  # answer outside this window: point at <s>, as BERT/HF do
        features.append({
            "example_index": example_index,
            "qas_id": example.qas_id,
            "input_ids": torch.tensor(input_ids, dtype=torch.int32),
            "p_mask": torch.tensor(p_mask, dtype=torch.uint8),
            "offsets": torch.tensor(token_offsets, dtype=torch.int32).reshape(-1, 2),
            "token_is_max_context": torch.tensor(max_context, dtype=torch.bool),
            "start_position": start_position,
            "end_position": end_position,
            "is_impossible": example.is_impossible,
        })
    return features, example.is_impossible or gold is not None
