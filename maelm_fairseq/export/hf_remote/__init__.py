"""Files copied verbatim into a Hugging Face export directory and loaded there with `trust_remote_code=True`.

They import only torch and transformers (and, for the fastBPE tokenizer, sacremoses), never this package: whoever
loads the export needs transformers alone. `modeling_maelm.py` imports the relative-position bias from a sibling
`relative_position.py`, which the exporter copies from `maelm_fairseq/modules/`, so the bucket function exists once.
Nothing here is imported by the plugin.
"""
