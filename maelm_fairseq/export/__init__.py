"""Export of our encoder to Hugging Face transformers (`maelm-export-hf`, module `hf_cli`). Not imported by the plugin
itself; transformers is only needed here (the `[hf]` extra)."""
