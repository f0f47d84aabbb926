"""What every figure shares: the tag of simulated data, and one panel per measure."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd


def simulated_tag(recording_or_simulated) -> str:
    simulated = getattr(recording_or_simulated, "simulated", recording_or_simulated)
    return " (simulated data)" if simulated else ""


def measure_panels(data: pd.DataFrame, width: float = 4.6):
    """A figure with one panel per measure (``data["measure"]``, in order of appearance), and ``measure -> axes``."""
    measures = list(dict.fromkeys(data["measure"]))
    fig, axes = plt.subplots(1, len(measures), figsize=(width * len(measures), 3.9), squeeze=False)
    return fig, dict(zip(measures, axes[0]))
