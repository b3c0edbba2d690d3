"""fairseq's TokenBlockDataset over lines shortened to at most `max_line` tokens, built without a Python call or a
random draw per line.

fairseq's path (RandomCropDataset under TokenBlockDataset) reads every line of a block separately and reseeds
numpy's global RNG around each one, cropped or not: on a corpus of short lines that costs more than everything
else in the loader. Here a line is shortened only when it is too long, its crop drawn from a generator keyed by
(seed, epoch, line index) (keyed_random.py), and a block whose lines all fit is one slice of the memory-mapped
.bin (fairseq-preprocess writes the lines of a split back to back). The block boundaries are fairseq's own
(`TokenBlockDataset`'s index arithmetic on the shortened sizes), so a block holds the same lines as under
fairseq's path; only the window of an over-long line differs (any of its excess + 1 windows here, fairseq never
takes the last one).
"""
import numpy as np
import torch
from fairseq.data import TokenBlockDataset
from fairseq.data.indexed_dataset import MMapIndexedDataset

from .keyed_random import CROP, KeyedRandom

SHORTEN_METHODS = ("none", "truncate", "random_crop")


class ShortenedTokenBlocks(TokenBlockDataset):
    def __init__(self, lines, block_size, break_mode, pad, eos, shorten, max_line, seed):
        assert shorten in SHORTEN_METHODS, shorten
        self.shorten, self.max_line, self.random, self.epoch = shorten, max_line, KeyedRandom(seed), 1
        sizes = np.asarray(lines.sizes, dtype=np.int64)
        too_long = sizes > max_line if shorten != "none" else np.zeros(len(sizes), dtype=bool)
        super().__init__(lines, np.where(too_long, max_line, sizes), block_size, pad, eos, break_mode=break_mode)
        first, offset, last = self.block_to_dataset_index.astype(np.int64).T
        self._length = np.diff(self.slice_indices.astype(np.int64), axis=1)[:, 0]
        # blocks read as one slice of fairseq's mmap .bin: their byte offset (fairseq's reader keeps the pointer of
        # every line and one dtype)
        too_long_before = np.concatenate([[0], np.cumsum(too_long)])
        self._one_slice = too_long_before[last + 1] == too_long_before[first]
        if isinstance(lines, MMapIndexedDataset):
            self._dtype = np.dtype(lines._index.dtype)
            self._byte_offset = lines._index._pointers[first].astype(np.int64) + offset * self._dtype.itemsize
        else:
            self._one_slice[:] = False

    @property
    def can_reuse_epoch_itr_across_epochs(self):
        return True  # only the crop windows change with the epoch, not the sizes

    def set_epoch(self, epoch, **unused):
        self.epoch = epoch

    def line(self, i):
        item = self.dataset[i]
        excess = len(item) - self.max_line
        if self.shorten == "none" or excess <= 0:
            return item
        start = 0 if self.shorten == "truncate" else int(
            self.random.for_item(self.epoch, i, CROP).integers(excess + 1))
        return item[start:start + self.max_line]

    def __getitem__(self, index):
        length = int(self._length[index])
        if self._one_slice[index]:
            tokens = np.frombuffer(self.dataset._bin_buffer, dtype=self._dtype, count=length,
                                   offset=int(self._byte_offset[index]))
            return torch.from_numpy(tokens.astype(np.int64))
        first, offset, last = (int(x) for x in self.block_to_dataset_index[index])
        return torch.cat([self.line(i) for i in range(first, last + 1)])[offset:offset + length]
