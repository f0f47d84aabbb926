"""Principal component analysis used on both sides of the comparison.

The paper reduces each subject's TR x voxel matrix to ``min(n_trs, model_dim)``
components before smoothing, and reduces language-model vectors when they are
wider than the brain side. One function does both, deterministically (the
sign of each component is fixed so that its largest loading is positive).
"""

from __future__ import annotations

import numpy as np


def pca(x: np.ndarray, n_components: int) -> np.ndarray:
    """Scores of the rows of ``x`` on its first ``n_components`` principal axes.

    The columns are centred first; the result has shape
    ``(n_rows, n_components)`` and the dtype of ``x``.
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"PCA needs a 2-D array (samples x features), got shape {x.shape}.")
    limit = min(x.shape)
    if not 1 <= n_components <= limit:
        raise ValueError(f"n_components must be between 1 and {limit} for an array of shape {x.shape}, got {n_components}.")
    centred = x - x.mean(axis=0, dtype=np.float64).astype(x.dtype)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    vt = vt[:n_components]
    signs = np.sign(vt[np.arange(n_components), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1
    return (centred @ (vt * signs[:, None]).T).astype(x.dtype, copy=False)
