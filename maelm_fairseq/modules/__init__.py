"""Building blocks of the maelm model: encoder stack, shallow decoder, attention layer, rel-pos bias."""
