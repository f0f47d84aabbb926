"""Figures of the book. Each takes data or a tidy table and returns a matplotlib Figure.

Scores are always drawn with their chance level and an uncertainty band, and
figures of simulated data say so in their title. Drawing only: every number
drawn that the book also reports comes from :mod:`helpers.align.statistics`
(or the table passed in). By topic:

``recordings``
    the experiment's timing, voxels on glass brains, time courses, smoothing
    kernels;
``vectors``
    how alike neighbouring words' vectors, and a model's layers, are;
``scores``
    scores by layer, precision@k, RSA by layer, the smoothing delay, scaling
    with size, slopes within a family (ladders) and how small a slope they
    detect, relative depth, trained minus random-weight twin;
``controls``
    the controls matrix and the recovery of a planted layer (chapter 9);
``style``
    what the figures share: the house style for the book's column, panel
    grids, the legend under the panels, :func:`simulated_tag`, and the
    legibility check every figure passes when ``HELPERS_STRICT_FIGURES`` is
    set (the tests' book builds set it).

Every figure is re-exported here: ``plots.<name>(...)``.
"""

import matplotlib.pyplot as plt

from .controls import SPLIT_NAMES, controls_matrix, recovery
from .recordings import (glass_brain, glass_brain_regions, kernel_comparison, smoothing_kernel, timecourses, timeline,
                         window_lag_figure)
from .scores import (delay_curve, depth, ladder_slopes, layer_scores, precision_at_k, rsa_layers, scaling, slope_power,
                     twin_difference_bars)
from .style import HOUSE, measure_panels, simulated_tag
from .vectors import layer_similarity, neighbour_similarity

plt.rcParams.update(HOUSE)  # the book's house style: text sizes for its column

__all__ = [
    "SPLIT_NAMES", "controls_matrix", "recovery",
    "glass_brain", "glass_brain_regions", "kernel_comparison", "smoothing_kernel", "timecourses", "timeline",
    "delay_curve", "depth", "ladder_slopes", "layer_scores", "precision_at_k", "rsa_layers", "scaling", "slope_power",
    "twin_difference_bars",
    "measure_panels", "simulated_tag",
    "layer_similarity", "neighbour_similarity",
]
