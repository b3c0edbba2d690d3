#!/usr/bin/env bash
# Fine-tune on SQuAD v1.1 or v2.0 features from a pretraining checkpoint; every validation logs EM/F1
# (v2.0: also HasAns/NoAns and the best null thresholds). See examples/squad/README.md.
#
#   examples/squad/run.sh FEATURES_DIR CHECKPOINT SAVE_DIR [extra fairseq-train flags]
#
# FEATURES_DIR is the --output of preprocess/squad/prepare_squad.py. The recipe is SQUAD in examples/recipes.py;
# environment overrides (defaults: BERT-base's SQuAD recipe, since MAE-LM's are not published): ARCH=maelm_base
# LR=3e-5 BATCH=32 EPOCHS=2 WARMUP=0.1 SEED=1, CPU=1 for fp32 on CPU (default: GPU fp16), DRY_RUN=1 to print the
# command instead of running it, PYTHON (the interpreter with fairseq; default python). run.py does the work.
set -euo pipefail
exec "${PYTHON:-python}" "$(dirname "$0")/run.py" "$@"
