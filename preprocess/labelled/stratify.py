"""A seeded sample whose make-up by label matches the whole set: used for a valid split taken out of train and for
a low-resource subset of train."""
import collections
import math
import random


def stratified_sample(strata, size, seed):
    """Indices (sorted) of `size` items of range(len(strata)) with each stratum's count within one of its
    proportional share (largest remainders), drawn with `seed`. Every stratum keeps at least one item outside
    the sample, so a valid split never takes a label's last training example."""
    members = collections.defaultdict(list)
    for index, stratum in enumerate(strata):
        members[stratum].append(index)
    order = sorted(members)
    shares = {s: size * len(members[s]) / len(strata) for s in order}
    counts = {s: min(math.floor(shares[s]), len(members[s]) - 1) for s in order}
    # The rest goes to the largest fractional parts (ties: stratum order), where a stratum has room.
    for s in sorted(order, key=lambda s: counts[s] - shares[s]):
        if sum(counts.values()) >= size:
            break
        if counts[s] < len(members[s]) - 1:
            counts[s] += 1
    rng = random.Random(seed)
    chosen = []
    for s in order:
        indices = list(members[s])
        rng.shuffle(indices)
        chosen += indices[:counts[s]]
    return sorted(chosen)
