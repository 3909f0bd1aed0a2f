"""The demo's data set: scikit-learn's 1,797 handwritten digits, bundled with alien_nb."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

from ..core import AlienError

QUERIES_PER_DIGIT = 10  # 100 held-out query images, 10 of each digit
SEED = 0


@dataclass(frozen=True)
class Digits:
    """The bundled digits: ``images`` (N, 8, 8) uint8 in 0..16 and ``labels`` (N,) in 0..9."""

    images: np.ndarray
    labels: np.ndarray

    @property
    def vectors(self) -> np.ndarray:
        """(N, 64) float32, each row scaled to unit length (so cosine and l2 rank alike)."""
        x = self.images.reshape(len(self.images), -1).astype(np.float32)
        unit: np.ndarray = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        return unit

    def split(self, per_digit: int = QUERIES_PER_DIGIT, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
        """(query indices, table indices): ``per_digit`` random images of each digit are held out."""
        rng = np.random.default_rng(seed)
        held = np.concatenate(
            [rng.choice(np.flatnonzero(self.labels == d), per_digit, replace=False) for d in range(10)]
        )
        held.sort()
        rest = np.setdiff1d(np.arange(len(self.labels)), held)
        return held, rest


def load_digits() -> Digits:
    """The 1,797 handwritten digits shipped in ``alien_nb/data/digits.npz`` (no scikit-learn needed).

    Raise `AlienError` when the file is missing or damaged.
    """
    resource = files("alien_nb") / "data" / "digits.npz"
    hint = "Reinstall alien-nb (pip install --force-reinstall alien-nb): the file ships with the package."
    try:
        with resource.open("rb") as f, np.load(f, allow_pickle=False) as npz:
            images, labels = np.asarray(npz["images"]), np.asarray(npz["labels"])
    except FileNotFoundError:
        raise AlienError(
            "The demo's data set alien_nb/data/digits.npz is not installed.", hint=hint
        ) from None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise AlienError(
            f"The demo's data set alien_nb/data/digits.npz cannot be read ({type(exc).__name__}).", hint=hint
        ) from None
    if images.shape[1:] != (8, 8) or labels.shape != (len(images),) or not len(images):
        raise AlienError("The demo's data set alien_nb/data/digits.npz has an unexpected shape.", hint=hint)
    return Digits(images, labels.astype(np.int64))
