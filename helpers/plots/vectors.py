"""Figures of vectors: how alike the vectors of neighbouring words, and of a model's layers, are."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from ..align.statistics import lag_similarity
from .style import COLUMN_IN, legible


@legible
def neighbour_similarity(vectors: np.ndarray, max_lag: int = 20, title: str = "") -> plt.Figure:
    """Mean cosine between the (centred) vectors of words ``lag`` positions apart."""
    lags = np.arange(1, max_lag + 1)
    means = lag_similarity(vectors, lags).to_numpy()  # helpers.align.statistics
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 3.2))
    ax.plot(lags, means, marker="o", ms=3)
    ax.axhline(0, color="k", lw=0.8, ls="--", label="unrelated vectors")
    ax.set_xlabel("distance between two words (in words)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("mean cosine similarity")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


@legible
def layer_similarity(similarity: np.ndarray, title: str = "") -> plt.Figure:
    """The mean cosine between the hidden states of every pair of layers (a ``(layers, layers)`` matrix of
    :func:`helpers.align.statistics.layer_similarity`), as an image."""
    similarity = np.asarray(similarity)
    if similarity.ndim != 2 or similarity.shape[0] != similarity.shape[1]:
        raise ValueError(f"layer_similarity draws a square (layers x layers) matrix, got shape {similarity.shape}; "
                         "pass statistics.layer_similarity(vectors).")
    fig, ax = plt.subplots(figsize=(5.0, 3.9))
    image = ax.imshow(similarity, vmin=-1, vmax=1, cmap="RdBu_r")
    fig.colorbar(image, ax=ax, label="mean cosine\n(same word, two layers)")
    ax.set_xlabel("layer")
    ax.set_ylabel("layer")
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title)
    fig.tight_layout()
    return fig
