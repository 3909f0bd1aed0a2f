"""Synthetic embeddings shared by the benchmark scripts."""

from __future__ import annotations

import numpy as np


def clustered(n: int, dim: int, seed: int = 7) -> np.ndarray:
    """100 Gaussian clusters in a 64-d latent space, projected to ``dim``, plus noise, L2-normalised."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(100, 64))
    latent = centres[rng.integers(0, 100, n)] + 0.3 * rng.normal(size=(n, 64))
    x = latent @ rng.normal(size=(64, dim)) + 0.1 * rng.normal(size=(n, dim))
    unit: np.ndarray = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return unit
