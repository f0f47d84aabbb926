"""How consistently subjects respond to the same stimulus."""

from __future__ import annotations

import numpy as np

from ..data.recording import Recording


def intersubject_correlation(recordings: list[Recording]) -> np.ndarray:
    """Per voxel, the mean correlation of each subject's time course with the others' average.

    A simple data-driven map of where the stimulus drives the signal; it needs
    at least two subjects sharing voxels and TRs.
    """
    if len(recordings) < 2:
        raise ValueError("inter-subject correlation needs at least two subjects.")
    data = np.stack([r.data for r in recordings]).astype(np.float64)
    z = (data - data.mean(axis=1, keepdims=True)) / data.std(axis=1, keepdims=True)
    out = np.zeros(data.shape[2])
    for s in range(len(recordings)):
        others = np.delete(z, s, axis=0).mean(axis=0)
        others = (others - others.mean(axis=0)) / others.std(axis=0)
        out += (z[s] * others).mean(axis=0)
    return out / len(recordings)
