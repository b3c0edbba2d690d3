"""Token lengths of a sentence_prediction data-bin's examples as fine-tuning sees them: fairseq's task prepends
`<s>` (--init-token 0) to input0 and, for pairs, a separator `</s>` (--separator-token 2) to input1; each input
already ends with the `</s>` fairseq-preprocess appended. So `<s> a </s>` and `<s> a </s> </s> b </s>`."""
import math
from pathlib import Path

PERCENTILES = (50, 90, 99)


def example_lengths(bin_dir, split, columns):
    """Token count of each example of `split`, in order."""
    sizes = [_sizes(Path(bin_dir, f"input{c}", f"{split}.idx")) for c in range(columns)]
    return [sum(parts) + columns for parts in zip(*sizes)]  # + <s>, + the separator of a pair


def _sizes(idx):
    from fairseq.data.indexed_dataset import MMapIndexedDataset  # fairseq loads torch: not for --help

    index = MMapIndexedDataset.Index(str(idx))
    return index.sizes.tolist()  # a copy: the sizes are a view of the index's mmap, closed with the index


def percentile(sorted_values, p):
    """Nearest-rank percentile: the smallest value with at least p % of the values at or below it."""
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def length_summary(lengths):
    ordered = sorted(lengths)
    return "  ".join([f"p{p} {percentile(ordered, p)}" for p in PERCENTILES] + [f"max {ordered[-1]}"])
