"""Masked-LM pretraining (MAE-LM, 3ML, the MLM baseline): task `maelm` (task.py) and criterion `maelm`
(criterion.py), registered by tasks/__init__.py. The model they train is models/maelm.py; the input pipeline is
data/."""
