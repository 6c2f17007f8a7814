"""Named, independent random streams.

Every source of randomness in a replication (one channel's arrivals, one category's handle
times, ...) gets its own numpy Generator derived from (scenario seed, replication index, stream
name). Hence:
- replication k gives the same numbers alone, in a process pool or on a Dask cluster;
- adding a pool or changing a headcount leaves every other stream untouched, so scenarios that
  differ only in staffing see the same customers (common random numbers, paired comparisons).

Stream names are declared in `streams`; a plain string is refused.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .streams import Stream


def stable_hash(name: str) -> int:
    """A 64-bit hash of a stream name that is the same in every process and Python version."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "little")


class Streams:
    """The random streams of one replication, created on first use."""

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = seed
        self.replication = replication
        self._made: dict[str, np.random.Generator] = {}

    def __call__(self, name: Stream) -> np.random.Generator:
        gen = self._made.get(name)
        if gen is None:
            if type(name) is not Stream:
                raise TypeError(f"undeclared random stream {name!r}: name streams with simsupport.streams")
            seq = np.random.SeedSequence(self.seed, spawn_key=(self.replication, stable_hash(name)))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._made[name] = gen
        return gen
