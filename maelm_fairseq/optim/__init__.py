"""Optimizers registered with fairseq (`--optimizer NAME`): torch_adamw.py."""
