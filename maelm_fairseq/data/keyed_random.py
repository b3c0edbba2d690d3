"""Random numbers that are a function of (seed, epoch, item index) and nothing else: a counter-based generator
(Philox) keyed by the seed, its counter set to (0, stream, index, epoch) for each item.

fairseq gets the same property by reseeding numpy's global RandomState around every item (`numpy_seed`: a
get_state/set_state of ~5 KB each time, ~50-90 us). Here each (stream, index, epoch) owns its own stretch of one
Philox sequence, so an item's numbers never depend on the order, the batch or the process (data-loader worker,
DDP rank) that asks for them, and no global state is touched.
"""
import numpy as np

# Streams: which use the numbers go to, so a line's crop and a block's mask with the same index stay independent.
CROP = 1
MASK = 2


class KeyedRandom:
    """`for_item(epoch, index, stream)` -> a numpy Generator at the start of that item's numbers.

    One generator is re-pointed per item: setting Philox's counter costs ~1.5 us, building a new one ~9 us."""

    def __init__(self, seed: int):
        self._bits = np.random.Philox(key=seed % 2**64)
        self._state = self._bits.state
        self._generator = np.random.Generator(self._bits)

    def for_item(self, epoch: int, index: int, stream: int) -> np.random.Generator:
        # An item draws far fewer than 2**64 blocks of numbers, so counter[0] (the word Philox increments) never
        # carries into the words that name the item.
        self._state["state"]["counter"][:] = (0, stream, index, epoch)
        self._state["buffer_pos"] = 4  # drop words left over from the previous item (4 = buffer empty)
        self._state["has_uint32"] = 0
        self._bits.state = self._state
        return self._generator
