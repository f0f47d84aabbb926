"""The legibility rules every figure of the book is held to (helpers.plots.style.problems)."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from helpers import plots
from helpers.plots import style


def two_panels(left: str, right: str, width: float = style.COLUMN_IN, size: float = 10):
    """Two panels side by side, spaced as matplotlib spaces them (no layout that would move them apart)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(width, 2.5))
    a.set_title(left, fontsize=size)
    b.set_title(right, fontsize=size)
    return fig


def test_a_column_wide_figure_with_short_titles_has_no_problem():
    assert style.problems(two_panels("own width", "all 384 dims")) == []


def test_overlapping_panel_titles_too_small_text_and_too_wide_figures_are_named():
    clash = style.problems(two_panels("Procrustes P@10, each model its own width", "Procrustes P@10, every model 384 dims"))
    assert any(p.startswith("the panel titles 'Procrustes P@10, each model its own width' and 'Procrustes P@10, every "
                            "model 384 dims' overlap") for p in clash)
    small = style.problems(two_panels("a", "b", size=7))
    assert small == ["2 text(s) under 9 pt, e.g. 'a' at 7 pt"]  # both titles
    wide = style.problems(two_panels("a", "b", width=8))
    assert wide[0] == "8.0 in wide, more than the column's 6.4 in (it would be shrunk)"


def test_legible_raises_in_strict_mode(monkeypatch):
    monkeypatch.setenv(style.STRICT, "1")
    with pytest.raises(AssertionError, match="overlap"):
        style.legible(lambda: two_panels("Procrustes P@10, each model its own width", "Procrustes P@10, every model 384 dims"))()


def test_a_squashed_panel_is_named_and_a_legend_below_no_longer_squashes_one():
    """A panel's plot area under MIN_PANEL_IN is a problem; one panel above a legend of seven entries (four rows)
    used to be squashed to about half an inch, and legend_below now grows the figure instead."""
    fig, ax = plt.subplots(figsize=(style.COLUMN_IN, 1.2))
    ax.set_title("flat")
    ax.set_xlabel("layer")
    assert any(p.startswith("the panel 'flat' is 0.") and p.endswith("under 1 in (make the figure taller)")
               for p in style.problems(fig))
    fig, axes = style.panel_grid(1)
    for i in range(7):
        axes[0].plot([0, 1], [i, i], label=f"line {i}")
    axes[0].set_xlabel("layer (0 = embeddings)")
    style.legend_below(fig, axes, "a title")
    assert style.problems(fig) == []
    assert fig.get_size_inches()[1] == pytest.approx(2.6 + 0.1 + 0.24 * 4)
    assert axes[0].get_window_extent(fig.canvas.get_renderer()).height / fig.dpi > 1.5


def test_the_layer_similarity_figure_draws_the_matrix_it_is_given_and_refuses_hidden_states():
    matrix = np.array([[1.0, 0.5, -0.2], [0.5, 1.0, 0.1], [-0.2, 0.1, 1.0]])
    fig = plots.layer_similarity(matrix, title="three layers")
    assert np.array_equal(fig.axes[0].images[0].get_array(), matrix)  # drawn as given, nothing recomputed
    plt.close(fig)
    with pytest.raises(ValueError, match=r"square \(layers x layers\) matrix, got shape \(3, 5, 4\); "
                                         r"pass statistics.layer_similarity\(vectors\)"):
        plots.layer_similarity(np.zeros((3, 5, 4)))  # hidden states, as the figure took them before
