"""Task `maelm_squad`: SQuAD v1.1/v2.0 fine-tuning of an encoder on features from preprocess/squad.

DATA is the directory prepare_squad.py wrote: dict.txt (the pretraining vocabulary; `<mask>` is added as in
pretraining so the embedding sizes match) and {train,valid}.pt. The model is the encoder plus a span head
(span_head.py). Every validation pass turns the windows' logits into answers and
logs the official metrics: exact and f1 (v1.1), plus HasAns_*/NoAns_* and best_exact/best_f1 with their null
thresholds (v2.0), so `--best-checkpoint-metric f1 --maximize-best-checkpoint-metric` works.
"""
import contextlib
import os
from dataclasses import dataclass, field

from fairseq import metrics
from fairseq.data import Dictionary
from fairseq.dataclass import FairseqDataclass
from fairseq.tasks import FairseqTask, register_task
from omegaconf import II, MISSING, OmegaConf, open_dict

from ..data.dictionary import load_dictionary
from ..errors import UserInputError
from .criterion import WINDOWS_KEY
from .evaluate import squad_evaluate
from .evaluation_meter import V1_METRICS, V2_METRICS, SquadEvaluationMeter
from .feature_dataset import SquadFeatureDataset
from .feature_file import WRITER, load_features
from .predictions import predict_answers
from .span_head import attach_squad_head


@dataclass
class SquadConfig(FairseqDataclass):
    data: str = field(default=MISSING, metadata={"help": "directory written by preprocess/squad/prepare_squad.py"})
    max_positions: int = field(default=512, metadata={"help": "the encoder's positions (as in pretraining)"})
    n_best_size: int = field(default=20, metadata={"help": "start/end positions per window considered for a span"})
    max_answer_length: int = field(default=30, metadata={"help": "longest answer span, in tokens"})
    null_score_diff_threshold: float = field(
        default=0.0, metadata={"help": "v2.0: answer '' when null score minus best span score exceeds this"})
    seed: int = II("common.seed")


@register_task("maelm_squad", dataclass=SquadConfig)
class SquadTask(FairseqTask):
    cfg: SquadConfig

    def __init__(self, cfg: SquadConfig, dictionary: Dictionary):
        super().__init__(cfg)
        self.dictionary = dictionary
        self.stored = {}  # split -> the loaded feature file (examples, features, squad_version)

    @classmethod
    def setup_task(cls, cfg: SquadConfig, **kwargs):
        missing = f"DATA must be the --output directory of {WRITER}"
        return cls(cfg, load_dictionary(os.path.join(cfg.data, "dict.txt"), missing_hint=missing))

    def load_dataset(self, split, epoch=1, combine=False, **kwargs):
        path = os.path.join(self.cfg.data, f"{split}.pt")
        stored = load_features(path)
        if stored["max_seq_length"] > self.cfg.max_positions:
            raise UserInputError(f"{path} was made with --max-seq-length {stored['max_seq_length']} > --max-positions "
                                 f"{self.cfg.max_positions}: re-run {WRITER} with --max-seq-length "
                                 f"{self.cfg.max_positions} or less")
        self.stored[split] = stored
        self.datasets[split] = SquadFeatureDataset(stored["features"], split, self.dictionary.pad(), self.cfg.seed)
        return self.datasets[split]

    def build_model(self, cfg, from_checkpoint=False):
        with open_dict(cfg) if OmegaConf.is_config(cfg) else contextlib.ExitStack():  # legacy models: a Namespace
            cfg.max_positions = self.cfg.max_positions
        return attach_squad_head(super().build_model(cfg, from_checkpoint))

    def evaluate(self, split, windows):
        """Official metrics of the questions whose windows were all scored."""
        return self.score(split, *self.answers(split, windows))

    def answers(self, split, windows):
        """(answer per question whose windows were all scored, its null score difference or None for v1.1)."""
        stored = self.stored[split]
        with_null = stored["squad_version"] == "v2.0"
        answers, null_scores = predict_answers(
            stored["examples"], stored["features"], windows, self.cfg.max_answer_length, with_null,
            self.cfg.null_score_diff_threshold)
        return answers, null_scores if with_null else None

    def score(self, split, answers, null_scores):
        """Official metrics of `answers` against the split's gold answers."""
        golds = {e["qas_id"]: [] if e["is_impossible"] else [a["text"] for a in e["answers"]]
                 for e in self.stored[split]["examples"] if e["qas_id"] in answers}
        return squad_evaluate(golds, answers, null_scores)

    def reduce_metrics(self, logging_outputs, criterion):
        super().reduce_metrics(logging_outputs, criterion)
        windows = [log[WINDOWS_KEY] for log in logging_outputs if WINDOWS_KEY in log]
        if not windows:
            return
        for split, batch_windows in windows:
            metrics.log_custom(lambda: SquadEvaluationMeter(self.evaluate), "_squad", split, batch_windows)
        names = V2_METRICS if self.stored[windows[0][0]]["squad_version"] == "v2.0" else V1_METRICS
        for name in names:
            metrics.log_derived(name, lambda meters, name=name: meters["_squad"].value(name))

    def max_positions(self):
        return self.cfg.max_positions

    @property
    def source_dictionary(self):
        return self.dictionary

    @property
    def target_dictionary(self):
        return self.dictionary
