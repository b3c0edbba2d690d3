"""Export of our encoder to Hugging Face transformers (`maelm-export-hf`). Not imported by the plugin itself;
transformers is only needed here (the `[hf]` extra).

  hf_cli           the command line
  hf_export        one export: model, tokenizer, reload-and-compare, maelm_export.json
  checkpoint       what a checkpoint holds (weights, options, heads)
  hf_model         configuration, weight mapping and classes of the transformers model
  reference        our outputs for the comparison, built from the checkpoint's weights
  tokenizer_files  which tokenizer files, checked against dict.txt and the checkpoint
  hf_tokenizer     the transformers tokenizer with fairseq's ids
  hf_remote/       code written into export directories (trust_remote_code=True)
"""
