"""Bootstrap confidence intervals of completion scores.

A score over n cut points (exact match: the mean of n 0/1 outcomes) varies with the cut points
drawn; with 50 cuts and a 20% rate its standard error is about 5.7 points. The percentile
bootstrap resamples the cuts with replacement ``resamples`` times (seeded) and takes the 2.5th
and 97.5th percentiles of the resampled means.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["bootstrap_ci"]


def bootstrap_ci(
    values: Sequence[float], *, seed: int = 0, resamples: int = 2000, level: float = 0.95
) -> tuple[float, float] | None:
    """The percentile bootstrap interval of the mean of ``values`` at ``level`` (None when
    ``values`` is empty)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"confidence level {level} must be in (0, 1)")
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return None
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = 100 * (1.0 - level) / 2
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)
