"""Cheap consistency checks of a split's mmap .bin/.idx pair, so a damaged split is one readable error line
instead of an assertion or a numpy error from deep inside fairseq's reader.

The .idx is read with fairseq's own reader (`MMapIndexedDataset.Index`); of the .bin only its size and the first
4M token ids are read: the .idx must be complete, the .bin must hold exactly the bytes the .idx describes, and
token ids must fit the dictionary."""
import os
import struct

import numpy as np
from fairseq.data.indexed_dataset import MMapIndexedDataset, data_file_path, index_file_path, infer_dataset_impl

from ..errors import UserInputError

TOKEN_SAMPLE = 1 << 22  # token ids checked against the dictionary: the first 4M of a split
# Index.writer's layout: magic, version (<Q), dtype code (<B), line count (<Q); then per line an int32 size and an
# int64 pointer. fairseq's reader ignores bytes past the last pointer, so an over-long .idx is measured here.
HEADER_BYTES = len(MMapIndexedDataset.Index._HDR_MAGIC) + 8 + 1 + 8
BYTES_PER_LINE = 4 + 8
FIX = "the .bin and .idx do not belong together or a copy was cut short; re-run fairseq-preprocess"


class _Index(MMapIndexedDataset.Index):
    """fairseq's .idx reader, safe to drop half-built: fairseq's `__del__` assumes `__init__` reached the mmap,
    so a corrupt header would print an 'Exception ignored' traceback under our one-line error."""

    def __del__(self):
        if hasattr(self, "_bin_buffer_mmap"):
            super().__del__()


def check_split_files(split_path, dictionary):
    """UserInputError naming the file at fault if the split's .bin/.idx pair is damaged; nothing if it is sound,
    absent (the caller reports a missing split) or not an mmap dataset (fairseq's own reader checks those)."""
    idx, bin_ = index_file_path(split_path), data_file_path(split_path)
    have_idx, have_bin = os.path.isfile(idx), os.path.isfile(bin_)
    if not (have_idx or have_bin):
        return
    if have_idx != have_bin:
        missing, present = (bin_, idx) if have_idx else (idx, bin_)
        raise UserInputError(f"{missing}: missing (its partner {present} exists); the .bin and .idx of a split are "
                             f"written together by fairseq-preprocess: re-run it")
    if infer_dataset_impl(split_path) != "mmap":
        return
    index = read_index(idx)
    bin_size = os.path.getsize(bin_)
    if len(index) == 0 or bin_size == 0:
        raise UserInputError(f"{bin_}: the `{os.path.basename(split_path)}` split has no samples (empty corpus); "
                             f"preprocess a corpus with text in it")
    itemsize = np.dtype(index.dtype).itemsize
    last_pointer, last_size = index[len(index) - 1]
    described = int(last_pointer) + int(last_size) * itemsize
    if bin_size != described:
        raise UserInputError(f"{bin_}: {bin_size} bytes, but {idx} describes {described} bytes of tokens; {FIX}")
    check_token_ids(bin_, index.dtype, min(bin_size // itemsize, TOKEN_SAMPLE), dictionary)


def read_index(idx):
    """fairseq's reader of `idx`, its failures (assertions, struct and numpy errors) turned into our line."""
    idx_size = os.path.getsize(idx)
    try:
        index = _Index(idx)
    except (AssertionError, struct.error, KeyError):  # magic, version, short header, unknown dtype code
        raise UserInputError(f"{idx}: truncated or corrupt index header; {FIX}") from None
    except ValueError:  # np.frombuffer: fewer bytes than the header's line count needs
        raise UserInputError(f"{idx}: {idx_size} bytes, too few for the number of lines its header announces; "
                             f"{FIX}") from None
    expected = HEADER_BYTES + len(index) * BYTES_PER_LINE
    if idx_size != expected:
        raise UserInputError(f"{idx}: {idx_size} bytes, but its header announces {len(index)} lines "
                             f"({expected} bytes); {FIX}")
    return index


def check_token_ids(bin_, dtype, count, dictionary):
    """The first `count` token ids of `bin_` must be ids of `dictionary`."""
    top = int(np.fromfile(bin_, dtype=dtype, count=count).max())
    if top >= len(dictionary):
        raise UserInputError(f"{bin_}: token id {top} but the dictionary "
                             f"{os.path.join(os.path.dirname(bin_), 'dict.txt')} has only "
                             f"{len(dictionary)} symbols; the data was binarized with another dict.txt: "
                             f"re-run fairseq-preprocess with --srcdict <that dict.txt>")
