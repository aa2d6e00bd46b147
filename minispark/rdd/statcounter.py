"""``StatCounter``: count, mean, variance, min and max in one pass, mergeable across partitions.

Each partition folds its numbers into a counter; the driver merges the counters. Variance is
kept as the sum of squared deviations (Welford), merged with Chan's formula, which stays
accurate where the naive sum-of-squares loses everything to cancellation.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


class StatCounter:
    def __init__(self, values: Iterable[float] | None = None) -> None:
        self.n = 0
        self.mu = 0.0
        self.m2 = 0.0  # sum of squared deviations from the mean
        self.maxValue = float("-inf")
        self.minValue = float("inf")
        for value in values or ():
            self.merge(value)

    def merge(self, value: float) -> StatCounter:
        """Add one value."""
        self.n += 1
        delta = value - self.mu
        self.mu += delta / self.n
        self.m2 += delta * (value - self.mu)
        self.maxValue = max(self.maxValue, float(value))
        self.minValue = min(self.minValue, float(value))
        return self

    def mergeStats(self, other: StatCounter) -> StatCounter:  # noqa: N802
        """Add everything ``other`` has counted."""
        if other is self:
            other = other.copy()
        if other.n == 0:
            return self
        if self.n == 0:
            self.n, self.mu, self.m2 = other.n, other.mu, other.m2
            self.maxValue, self.minValue = other.maxValue, other.minValue
            return self
        total = self.n + other.n
        delta = other.mu - self.mu
        self.mu += delta * other.n / total
        self.m2 += other.m2 + delta * delta * self.n * other.n / total
        self.n = total
        self.maxValue = max(self.maxValue, other.maxValue)
        self.minValue = min(self.minValue, other.minValue)
        return self

    def copy(self) -> StatCounter:
        clone = StatCounter()
        clone.n, clone.mu, clone.m2 = self.n, self.mu, self.m2
        clone.maxValue, clone.minValue = self.maxValue, self.minValue
        return clone

    def count(self) -> int:
        return self.n

    def mean(self) -> float:
        return self.mu

    def sum(self) -> float:
        return self.n * self.mu

    def min(self) -> float:
        return self.minValue

    def max(self) -> float:
        return self.maxValue

    def variance(self) -> float:
        """Population variance (divides by n); NaN when there is nothing counted."""
        return self.m2 / self.n if self.n else float("nan")

    def sampleVariance(self) -> float:  # noqa: N802
        """Sample variance (divides by n - 1); NaN below two values."""
        return self.m2 / (self.n - 1) if self.n > 1 else float("nan")

    def stdev(self) -> float:
        return math.sqrt(self.variance())

    def sampleStdev(self) -> float:  # noqa: N802
        return math.sqrt(self.sampleVariance())

    def asDict(self, sample: bool = False) -> dict[str, float]:  # noqa: N802
        return {
            "count": self.count(),
            "mean": self.mean(),
            "sum": self.sum(),
            "min": self.min(),
            "max": self.max(),
            "stdev": self.sampleStdev() if sample else self.stdev(),
            "variance": self.sampleVariance() if sample else self.variance(),
        }

    def __repr__(self) -> str:
        return (
            f"(count: {self.count()}, mean: {self.mean()}, stdev: {self.stdev()}, "
            f"max: {self.max()}, min: {self.min()})"
        )
