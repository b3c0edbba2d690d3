"""Read SQuAD v1.1 / v2.0 json into flat examples, failing clearly on a file that is not SQuAD-shaped."""
import json
from dataclasses import dataclass, field

from preprocess.errors import fail


@dataclass
class SquadExample:
    qas_id: str
    question: str
    context: str
    answers: list = field(default_factory=list)  # [{"text": str, "answer_start": int}], gold answers
    is_impossible: bool = False

    def as_dict(self):
        return {"qas_id": self.qas_id, "question": self.question, "context": self.context,
                "answers": self.answers, "is_impossible": self.is_impossible}


def read_examples(path):
    """Return (examples, squad_version); v2.0 is recognised by the `is_impossible` field."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        fail(path, "SQuAD json not found", "check the path")
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        fail(path, f"not valid json ({error})", "pass the train-v*.json / dev-v*.json file from the SQuAD site")
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        fail(path, "no top-level 'data' list", "pass a SQuAD v1.1 or v2.0 json file")
    examples, has_impossible_field = [], False
    for a, article in enumerate(data["data"]):
        for p, paragraph in enumerate(article.get("paragraphs", []) if isinstance(article, dict) else []):
            where = f"data[{a}].paragraphs[{p}]"
            if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str):
                fail(path, f"{where} has no 'context' string", "the file is not SQuAD-shaped")
            for q, qa in enumerate(paragraph.get("qas", [])):
                examples.append(_read_qa(path, f"{where}.qas[{q}]", qa, paragraph["context"]))
                has_impossible_field |= "is_impossible" in qa
    if not examples:
        fail(path, "no questions found", "pass a SQuAD v1.1 or v2.0 json file")
    return examples, "v2.0" if has_impossible_field else "v1.1"


def _read_qa(path, where, qa, context):
    if not isinstance(qa, dict) or not isinstance(qa.get("id"), str) or not isinstance(qa.get("question"), str):
        fail(path, f"{where} lacks an 'id' or 'question' string", "the file is not SQuAD-shaped")
    is_impossible = bool(qa.get("is_impossible", False))
    answers = qa.get("answers", [])
    if not isinstance(answers, list) or any(
        not isinstance(ans, dict) or not isinstance(ans.get("text"), str) or not isinstance(ans.get("answer_start"), int)
        for ans in answers
    ):
        fail(path, f"{where} has malformed 'answers' (need text and integer answer_start)", "the file is not SQuAD-shaped")
    if not is_impossible and not answers:
        fail(path, f"{where} ({qa['id']}) has no answer and is not marked is_impossible", "fix the file")
    return SquadExample(qa["id"], qa["question"], context,
                        [{"text": ans["text"], "answer_start": ans["answer_start"]} for ans in answers], is_impossible)
