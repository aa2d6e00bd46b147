"""Random sampling of RDDs: ``sample``, ``randomSplit`` and ``takeSample``.

Each partition draws from its own generator seeded with ``seed ^ partition``, so a sample is
reproducible for a given seed whatever order or process the partitions run in. Without
replacement every element is kept with probability ``fraction``; with replacement each is
repeated a Poisson(``fraction``) number of times, which for large data is the distribution of
how often an element is drawn.
"""

from __future__ import annotations

import itertools
import math
import random
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .base import RDD

T = TypeVar("T")

# Knuth's product method needs exp(-mean) to stay well above float underflow.
KNUTH_LIMIT = 20.0


def _seed(seed: int | None) -> int:
    return seed if seed is not None else random.randint(0, sys.maxsize)


def _generator(seed: int, split: int) -> random.Random:
    return random.Random(seed ^ split)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson(``mean``) draw."""
    if mean < KNUTH_LIMIT:
        limit = math.exp(-mean)
        count, product = 0, rng.random()
        while product > limit:
            count += 1
            product *= rng.random()
        return count
    # Count the arrivals of a rate-``mean`` process within one unit of time.
    count, elapsed = 0, rng.expovariate(mean)
    while elapsed < 1.0:
        count += 1
        elapsed += rng.expovariate(mean)
    return count


class Sampler:
    """``sample``'s per-partition function (a class, so a task pickles it as plain data)."""

    def __init__(self, with_replacement: bool, fraction: float, seed: int | None) -> None:
        if not fraction >= 0.0:
            raise ValueError(f"Negative fraction value: {fraction}")
        self.with_replacement = with_replacement
        self.fraction = fraction
        self.seed = _seed(seed)

    def __call__(self, split: int, it: Iterator[T]) -> Iterator[T]:
        rng = _generator(self.seed, split)
        for x in it:
            if self.with_replacement:
                for _ in range(poisson(rng, self.fraction)):
                    yield x
            elif rng.random() < self.fraction:
                yield x


class StratifiedSampler:
    """``sampleByKey``: ``sample`` with a fraction per key."""

    def __init__(
        self, with_replacement: bool, fractions: dict[Any, float], seed: int | None
    ) -> None:
        for fraction in fractions.values():
            if not fraction >= 0.0:
                raise ValueError(f"Negative fraction value: {fraction}")
        self.with_replacement = with_replacement
        self.fractions = fractions
        self.seed = _seed(seed)

    def __call__(self, split: int, it: Iterator[tuple[Any, Any]]) -> Iterator[tuple[Any, Any]]:
        rng = _generator(self.seed, split)
        for pair in it:
            fraction = self.fractions[pair[0]]
            if self.with_replacement:
                for _ in range(poisson(rng, fraction)):
                    yield pair
            elif rng.random() < fraction:
                yield pair


class Band:
    """One ``randomSplit`` output: elements whose draw falls in ``[lower, upper)``. Every band
    uses the same seed, so each element's draw is the same in all of them and lands in
    exactly one."""

    def __init__(self, lower: float, upper: float, seed: int) -> None:
        self.lower = lower
        self.upper = upper
        self.seed = seed

    def __call__(self, split: int, it: Iterator[T]) -> Iterator[T]:
        rng = _generator(self.seed, split)
        return (x for x in it if self.lower <= rng.random() < self.upper)


def split_bands(weights: Sequence[float], seed: int | None) -> list[Band]:
    if any(w < 0 for w in weights):
        raise ValueError("Weights must be nonnegative")
    total = float(sum(weights))
    if not total > 0:
        raise ValueError("Sum of weights must be positive")
    edges = [0.0]
    for weight in weights:
        edges.append(edges[-1] + weight / total)
    chosen = _seed(seed)
    return [Band(lower, upper, chosen) for lower, upper in itertools.pairwise(edges)]


def sample_fraction(wanted: int, total: int, with_replacement: bool) -> float:
    """A fraction that yields at least ``wanted`` of ``total`` elements with high probability
    (Spark's bounds: a few standard deviations above the mean, 99.99% without replacement)."""
    fraction = wanted / total
    if with_replacement:
        deviations = 9 if wanted < 12 else 5
        return fraction + deviations * math.sqrt(fraction / total)
    gamma = -math.log(0.00005) / total
    return min(1.0, fraction + gamma + math.sqrt(gamma * gamma + 2 * gamma * fraction))


def take_sample(rdd: RDD[T], with_replacement: bool, num: int, seed: int | None) -> list[T]:
    if num < 0:
        raise ValueError("Sample size cannot be negative.")
    total = rdd.count()
    if num == 0 or total == 0:
        return []
    rng = random.Random(seed)
    if not with_replacement and num >= total:
        everything = rdd.collect()
        rng.shuffle(everything)
        return everything
    if num > sys.maxsize - int(10 * math.sqrt(sys.maxsize)):
        raise ValueError(f"Sample size cannot be greater than {sys.maxsize - 1}.")
    fraction = sample_fraction(num, total, with_replacement)
    found = rdd.sample(with_replacement, fraction, seed).collect()
    while len(found) < num:  # rare: the fraction was picked to make this unlikely
        found = rdd.sample(with_replacement, fraction, rng.randint(0, sys.maxsize)).collect()
    rng.shuffle(found)
    return found[:num]
