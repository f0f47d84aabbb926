"""What is done with extracted vectors: type means, and one word followed across layers."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp


def word_across_layers(vectors: np.ndarray, word: int) -> pd.DataFrame:
    """How one word occurrence's vector changes from layer to layer.

    One row per hidden state: the vector's norm, its cosine with the same
    word's vector at the previous layer and at the embedding layer, and its
    mean cosine with the other words at that layer (how anisotropic the
    layer is).
    """
    v = vectors[:, word].astype(np.float64)
    unit = v / np.linalg.norm(v, axis=1, keepdims=True)
    mean_cosine = np.empty(len(v))
    # A layer at a time (float64 copies of every layer would not be small), through the einsum of all layers at
    # once restricted to one, which sums in the same order: the same bits as computing them together.
    for layer, states in enumerate(vectors):
        others = np.delete(states, word, axis=0).astype(np.float64)
        others /= np.linalg.norm(others, axis=1, keepdims=True)
        mean_cosine[layer] = np.einsum("ld,lnd->l", unit[layer, None], others[None])[0] / len(others)
    return pd.DataFrame(
        {
            "layer": np.arange(len(v)),
            "norm": np.linalg.norm(v, axis=1),
            "cosine with previous layer": np.r_[np.nan, np.sum(unit[1:] * unit[:-1], axis=1)],
            "cosine with embedding layer": unit @ unit[0],
            "mean cosine with other words": mean_cosine,
        }
    )


def type_means(vectors: np.ndarray, types: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Decontextualised vectors: the mean over all occurrences of each type.

    ``vectors`` has shape ``(..., n_occurrences, width)``; returns the sorted
    type names and an array of shape ``(..., n_types, width)``.
    """
    types = np.asarray(types)
    if vectors.shape[-2] != len(types):
        raise ValueError(f"need one type per occurrence: {vectors.shape[-2]} vectors, {len(types)} types.")
    names, inverse, counts = np.unique(types, return_inverse=True, return_counts=True)
    averaging = sp.csr_matrix((1.0 / counts[inverse], (inverse, np.arange(len(types)))), shape=(len(names), len(types)))
    flat = np.moveaxis(vectors, -2, 0).reshape(len(types), -1)
    means = np.asarray(averaging @ flat, dtype=vectors.dtype).reshape((len(names),) + vectors.shape[:-2] + vectors.shape[-1:])
    return names, np.moveaxis(means, 0, -2)
