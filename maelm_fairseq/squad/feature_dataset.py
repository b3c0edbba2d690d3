"""fairseq dataset over the features of one SQuAD features file (read by feature_file.load_features).

Each item is one sliding window: input ids `<s> question </s> </s> context </s>`, p_mask (1 where no answer may
start or end), and the start/end labels (0 = `<s>` for an unanswerable question or an answer outside the window,
-1 for a gold answer that could not be located, which the loss ignores).
"""
import numpy as np
import torch
from fairseq.data import FairseqDataset, data_utils


class SquadFeatureDataset(FairseqDataset):
    def __init__(self, features, split: str, pad_idx: int, seed: int):
        self.features = features
        self.split = split  # travels with each batch so evaluation finds the examples of the right split
        self.pad_idx = pad_idx
        self.seed = seed
        self.epoch = 1
        self.sizes = np.array([len(f["input_ids"]) for f in features], dtype=np.int64)

    def __len__(self):
        return len(self.features)

    def __getitem__(self, index):
        f = self.features[index]
        return {"id": index, "tokens": f["input_ids"].long(), "p_mask": f["p_mask"].long(),
                "start": f["start_position"], "end": f["end_position"]}

    def num_tokens(self, index):
        return int(self.sizes[index])

    def size(self, index):
        return int(self.sizes[index])

    def set_epoch(self, epoch):
        self.epoch = epoch

    def ordered_indices(self):
        """Shuffled (by seed and epoch), then stably sorted by length so batches pad little."""
        with data_utils.numpy_seed(self.seed, self.epoch):
            order = np.random.permutation(len(self))
        return order[np.argsort(self.sizes[order], kind="mergesort")]

    def collater(self, samples):
        if not samples:
            return {}
        tokens = data_utils.collate_tokens([s["tokens"] for s in samples], self.pad_idx)
        p_mask = data_utils.collate_tokens([s["p_mask"] for s in samples], 1)  # padding can hold no answer
        return {
            "id": torch.tensor([s["id"] for s in samples]),
            "split": self.split,
            "nsentences": len(samples),
            "ntokens": sum(len(s["tokens"]) for s in samples),
            "net_input": {"src_tokens": tokens},
            "p_mask": p_mask,
            "start_positions": torch.tensor([s["start"] for s in samples]),
            "end_positions": torch.tensor([s["end"] for s in samples]),
        }
