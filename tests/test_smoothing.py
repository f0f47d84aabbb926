import numpy as np
import pytest

from helpers.brain.smoothing import (
    METHODS, hrf_weights, paper_grid, paper_weights, paper_window_report, paper_windows, smooth,
    window_fits, within_run_weights, word_weights,
)
from helpers.brain.window_lag import lag_by_run, window_lag
from tests.conftest import make_recording
from tests.reference import paper_grid_loop, paper_loop, published_loop, within_run_loop


def gaussian(n):
    g = np.exp(-np.linspace(-(n // 2), n // 2, n) ** 2 / 2)
    return g / g.sum()


# ----------------------------------------------------------------------------------------------------------------
# "paper": the authors' rule


def test_the_paper_grid_fills_only_gaps_longer_than_2_s():
    tr_times = np.arange(0, 31, 2.0)  # last TR at 30 s
    # 21.0 -> 25.0 is 4 s: filled with 21.5 ... 24.5; after the last word 25.5 ... 30.0 (on the lattice, included)
    grid = paper_grid(make_recording([20.0, 20.5, 21.0, 25.0], tr_times=tr_times))
    np.testing.assert_array_equal(grid, [20.0, 20.5, 21.0, 21.5, 22.0, 22.5, 23.0, 23.5, 24.0, 24.5, 25.0,
                                         25.5, 26.0, 26.5, 27.0, 27.5, 28.0, 28.5, 29.0, 29.5, 30.0])
    # a gap of exactly 2 s is not filled, one of 2.5 s is
    grid = paper_grid(make_recording([20.0, 22.0, 24.5], tr_times=np.arange(0, 26, 2.0)))
    np.testing.assert_array_equal(grid, [20.0, 22.0, 22.5, 23.0, 23.5, 24.0, 24.5])
    # off the lattice: the fill steps from the earlier onset and stops before the next; the tail stops at the
    # last step not after the last TR (29.0 s)
    grid = paper_grid(make_recording([20.0, 24.3], tr_times=np.arange(0, 30, 1.0)))
    np.testing.assert_allclose(grid, [20.0, 20.5, 21.0, 21.5, 22.0, 22.5, 23.0, 23.5, 24.0, 24.3,
                                      24.8, 25.3, 25.8, 26.3, 26.8, 27.3, 27.8, 28.3, 28.8], atol=1e-12)
    # the tail never passes the last TR, not even by less than 0.1 s (24.05 + 5 x 0.5 = 29.05 is left out)
    assert paper_grid(make_recording([20.0, 24.05], tr_times=np.arange(0, 30, 1.0)))[-1] == pytest.approx(28.55)
    # a word shown during the last TR (which starts at 28 s): no tail, and its grid time holds the last TR
    rec = make_recording([20.0, 29.0], tr_times=np.arange(0, 29, 2.0))
    w = paper_windows(rec)
    np.testing.assert_array_equal(w.grid, np.r_[np.arange(20.0, 29.0, 0.5), 29.0])
    assert w.grid_tr[-1] == 14 and w.grid_tr[-2] == 14 and w.grid_tr[0] == 10
    # the reference builds the same grids
    for onsets, tr_times in (([20.0, 20.5, 21.0, 25.0], np.arange(0, 31, 2.0)), ([20.0, 24.3], np.arange(0, 30, 1.0))):
        np.testing.assert_allclose(paper_grid(make_recording(onsets, tr_times=tr_times)),
                                   paper_grid_loop(onsets, tr_times[-1]), atol=1e-12)


def hand_recording():
    # TRs every 2 s from 0 to 30 s; words at 4.0, 4.5, 5.0, then a 4 s rest, then 9.0 and 10.5 (a 1.5 s gap)
    return make_recording([4.0, 4.5, 5.0, 9.0, 10.5], tr_times=np.arange(0, 31, 2.0))


def test_a_paper_window_worked_out_by_hand():
    rec = hand_recording()
    w = paper_windows(rec)
    # grid: the onsets, the rest 5.0 -> 9.0 filled, the 1.5 s gap 9.0 -> 10.5 not filled, then 11.0 ... 30.0
    expected_grid = [4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 10.5] + list(np.arange(11.0, 30.5, 0.5))
    np.testing.assert_array_equal(w.grid, expected_grid)
    # each grid time holds the first TR starting at or after it: 8.0 -> TR 4 (8 s), 8.5 -> TR 5 (10 s), ...
    np.testing.assert_array_equal(w.grid_tr[:16], [2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 6, 6, 6, 6, 7])
    # word 0 (t = 4.0): from the grid time closest to 8.0 (index 8) up to, not including, the one closest to
    # 12.5 (index 15): 8.0, 8.5, 9.0, 10.5, 11.0, 11.5, 12.0 -- 7 slots, not 9, because the grid jumps 9.0 -> 10.5
    assert (w.start[0], w.stop[0]) == (8, 15)
    # their TRs: 4, 5, 5, 6, 6, 6, 6; weights exp(-x^2/2) at x = -3 ... 3, normalised
    g = np.exp(-np.arange(-3, 4) ** 2 / 2)
    g /= g.sum()
    row = paper_weights(rec).toarray()[0]
    expected = np.zeros(rec.n_trs)
    expected[4], expected[5], expected[6] = g[0], g[1] + g[2], g[3:].sum()
    np.testing.assert_allclose(row, expected, atol=1e-12)
    np.testing.assert_allclose(row[4:7], [0.004433, 0.296042, 0.699525], atol=1e-6)
    # an even window: lookforward 1.5 s ends at the grid time closest to 12.0 (index 14): 6 slots at
    # x = -3, -1.8, -0.6, 0.6, 1.8, 3 (not whole numbers), TRs 4, 5, 5, 6, 6, 6
    row = paper_weights(rec, lookforward=1.5).toarray()[0]
    g = np.exp(-np.array([-3, -1.8, -0.6, 0.6, 1.8, 3]) ** 2 / 2)
    g /= g.sum()
    np.testing.assert_allclose(row[4:7], [g[0], g[1] + g[2], g[3:].sum()], atol=1e-12)
    np.testing.assert_allclose(row[4:7], [0.005319, 0.494681, 0.5], atol=1e-6)
    # boxcar: the same 7 slots, equal weights
    np.testing.assert_allclose(paper_weights(rec, kernel="boxcar").toarray()[0, 4:7], [1 / 7, 2 / 7, 4 / 7])
    # and the word vector is that weighted sum of TR rows
    np.testing.assert_allclose(smooth(rec)[0], expected @ rec.data, atol=1e-5)


def test_paper_ties_go_to_the_earlier_grid_time():
    rec = hand_recording()
    # start target 4.0 - 0.25 + 6 = 9.75, exactly halfway between 9.0 (index 10) and 10.5 (index 11): 9.0
    assert paper_windows(rec, lookback=0.25).start[0] == 10
    assert paper_windows(rec, lookback=0.24).start[0] == 11
    # on the regular part: delay 6.25 puts the start at 8.25 (between 8.0 and 8.5: 8.0, index 8) and the end at
    # 12.75 (between 12.5, index 15, and 13.0, index 16: 12.5), so the window is indices 8 ... 14
    w = paper_windows(rec, delay=6.25)
    assert (w.start[0], w.stop[0]) == (8, 15)
    assert (w.start[1], w.stop[1]) == (9, 16)  # 8.75 -> 8.5 (index 9), 13.25 -> 13.0 (index 16)
    # a target before the grid goes to its first time
    w = paper_windows(rec, lookback=6.0, delay=0.0)  # targets -2.0, -1.5, -1.0, 3.0, 4.5
    assert w.clamped_start.tolist() == [True, True, True, True, False]
    np.testing.assert_array_equal(w.start, [0, 0, 0, 0, 1])
    # of two equal grid times (two items with the same onset) the first is taken
    w = paper_windows(make_recording([20.0, 20.0, 21.0], tr_times=np.arange(0, 30, 2.0)), lookback=2.0, delay=2.0)
    np.testing.assert_array_equal(w.grid[:4], [20.0, 20.0, 21.0, 21.5])
    np.testing.assert_array_equal(w.start, [0, 0, 2])


def two_run_recording():
    # 20 TRs of 2 s, run 0 for the first 10 (0-18 s), run 1 for the rest (20-38 s)
    runs = np.repeat([0, 1], 10)
    return make_recording([4.0, 8.0, 12.0, 13.0, 24.0, 28.0, 33.0, 36.0], tr_times=np.arange(0, 40, 2.0), runs=runs)


def test_paper_windows_may_leave_the_run_and_are_counted():
    rec = two_run_recording()
    report = paper_window_report(rec)
    # 12.0 and 13.0 (run 0) reach TR 10 (20 s, run 1); 33.0 and 36.0 have their end targets 41.5 and 44.5 after
    # the grid's last time 38.0; 36.0's start target 40.0 is there too, so its window is empty and takes 38.0
    assert report == {"words": 8, "other_run": 2, "clamped_end": 2, "clamped_start": 0, "empty": 1,
                      "trs_without_slot": 0}
    w = paper_weights(rec).toarray()
    assert w[2, 10] > 0 and w[3, 10] > 0 and w[1, 10] == 0
    # 33.0: slots 37.0 and 37.5, both TR 19 (38 s); 36.0: the single slot 38.0, TR 19
    np.testing.assert_allclose(w[6], np.eye(20)[19])
    np.testing.assert_allclose(w[7], np.eye(20)[19])
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    # not an error, whatever outside says; every window "fits" by the paper's rule
    np.testing.assert_array_equal(smooth(rec, outside="error"), smooth(rec, outside="ignore"))
    assert window_fits(rec).all() and window_fits(rec, method="paper", delay=20.0, kernel="boxcar").all()
    # the within-run rule refuses the same recording
    assert window_fits(rec, method="within_run").tolist() == [True, True, False, False, True, True, False, False]
    with pytest.raises(ValueError, match=r"word 2 \('w2', onset 12.00 s\) reaches outside"):
        smooth(rec, method="within_run", outside="error")
    with pytest.raises(ValueError, match="outside must be one of"):
        paper_weights(rec, outside="drop")
    with pytest.raises(ValueError, match="delay must be a finite number of seconds >= 0"):
        window_fits(rec, delay=-1.0)


def test_paper_report_counts_trs_that_hold_no_grid_time():
    # TRs of 0.5 s and words 1.5 s apart: of the TRs between two words only the one at the later word holds a grid time
    rec = make_recording([10.0, 11.5, 13.0], tr_times=np.arange(0, 20, 0.5), tr=0.5)
    w = paper_windows(rec)
    np.testing.assert_array_equal(w.grid[:3], [10.0, 11.5, 13.0])
    np.testing.assert_array_equal(w.grid_tr[:4], [20, 23, 26, 27])
    assert paper_window_report(rec)["trs_without_slot"] == 4  # TRs 21, 22, 24, 25


def irregular_recording(seed, tr=2.0, run_trs=(60, 45, 70), run_gap_s=0.0, end_rests=(12.0, 3.0, 2.0)):
    """Several runs on one clock, onsets with rests and gaps of every kind; the last run ends close after its last word."""
    rng = np.random.default_rng(seed)
    steps = [0.5, 0.5, 0.5, 0.5, 0.0, 1.0, 1.5, 2.0, 2.25, 2.5, 3.25, 6.0, 0.37]
    tr_times, runs, onsets = [], [], []
    clock = 0.0
    for run, (n, rest) in enumerate(zip(run_trs, end_rests)):
        tr_times.append(clock + tr * np.arange(n))
        runs.append(np.full(n, run))
        t = clock + rng.choice([6.0, 10.5, 20.0])
        while t < clock + tr * n - rest:
            onsets.append(t)
            t += rng.choice(steps)
        clock += tr * n + run_gap_s
    return make_recording(onsets, tr_times=np.concatenate(tr_times), runs=np.concatenate(runs), n_voxels=6, seed=seed, tr=tr)


PAPER_OPTIONS = [
    {},
    {"lookback": 1.0, "lookforward": 3.5, "delay": 4.0},
    {"delay": 6.25},  # ties halfway on the regular parts of the grid
    {"lookback": 0.0, "lookforward": 0.0, "delay": 0.0},  # short windows: some empty where the grid jumps
    {"lookback": 8.0, "lookforward": 1.0, "delay": 2.0},  # clamped at the start
    {"delay": 9.0, "kernel": "boxcar"},
    {"lookback": 0.3, "lookforward": 2.7, "delay": 5.1, "word_duration": 0.0},
]


@pytest.mark.parametrize("method", ["paper", "published"])
@pytest.mark.parametrize("layout", [
    {"seed": 1},
    {"seed": 2, "tr": 1.5, "run_gap_s": 7.0},  # TRs shorter than 2 s, an unscanned pause between runs
    {"seed": 3, "end_rests": (1.0, 0.5, 0.3)},  # words during the last TRs
])
def test_paper_matrix_equals_the_per_word_reference(layout, method):
    rec = irregular_recording(**layout)
    data = np.random.default_rng(9).standard_normal((rec.n_trs, 4))  # float64
    seen = {"other_run": 0, "clamped_end": 0, "clamped_start": 0, "empty": 0}
    ties = 0
    for options in PAPER_OPTIONS:
        fast = smooth(rec, data, method=method, **options)
        assert fast.dtype == np.float64
        slow, slots, empty = paper_loop(rec, data, windows=True, published=method == "published", **options)
        np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-9)
        w = paper_windows(rec, **{k: v for k, v in options.items() if k != "kernel"}, method=method)
        assert [list(range(a, b)) for a, b in zip(w.start, w.stop)] == slots
        np.testing.assert_array_equal(w.empty, empty)
        report = paper_window_report(rec, **options, method=method)
        for key in seen:
            seen[key] += report[key]
        # targets exactly halfway between two grid times
        window = {"lookback": 2.0, "lookforward": 2.0, "delay": 6.0, "word_duration": 0.5, **options}
        anchor = rec.onsets if method == "paper" else w.grid[: len(rec.onsets)]
        target = anchor - window["lookback"] + window["delay"]
        after = np.clip(np.searchsorted(w.grid, target), 1, len(w.grid) - 1)
        ties += int(np.sum(np.abs((w.grid[after] - target) - (target - w.grid[after - 1])) < 1e-12))
    # the cases above exercise every branch of the rule; except that "published" windows, which trail the words
    # by every rest filled so far, end well before the grid does (test_an_empty_published_window_gives_a_zero_row
    # clamps them at the end)
    if method == "published":
        assert seen.pop("clamped_end") == 0
    assert all(count > 0 for count in seen.values()), seen
    assert ties > 0


def hp_layout(n_voxels=3):
    """Harry Potter sized: 4 runs, 1,351 TRs of 2 s on one clock, 5,176 words at 0.5 s, 20 s rest at the start of each run."""
    run_trs = [324, 337, 345, 345]
    end_rests = [10.0, 8.0, 8.0, 8.0]  # from the end of the last word to the end of the run
    tr_times = 2.0 * np.arange(sum(run_trs))
    runs = np.repeat(np.arange(4), run_trs)
    starts = 2.0 * np.r_[0, np.cumsum(run_trs)[:-1]]
    onsets = [start + np.arange(20.0, 2.0 * n - rest, 0.5) for start, n, rest in zip(starts, run_trs, end_rests)]
    return make_recording(np.concatenate(onsets), tr_times=tr_times, runs=runs, n_voxels=n_voxels)


def test_paper_matrix_equals_the_reference_on_a_harry_potter_sized_layout():
    rec = hp_layout()
    assert (len(rec.onsets), rec.n_trs, rec.onsets[0]) == (5176, 1351, 20.0)
    data = np.random.default_rng(4).standard_normal((rec.n_trs, 3))
    np.testing.assert_allclose(smooth(rec, data), paper_loop(rec, data), rtol=0, atol=1e-9)
    weights = paper_weights(rec)
    np.testing.assert_allclose(np.asarray(weights.sum(axis=1)).ravel(), 1.0)
    assert weights[:, :10].nnz == 0  # TRs before the first word are never used
    # the last three words of runs 2 and 3 (onsets 9.5, 9.0 and 8.5 s before the run ends) have a slot after the
    # run's last TR, which holds the next run's first TR; the last four words of run 4 have their end target
    # (onset + 8.5 s) after the last TR (2700 s), where the grid ends
    assert paper_window_report(rec) == {"words": 5176, "other_run": 6, "clamped_end": 4, "clamped_start": 0,
                                        "empty": 0, "trs_without_slot": 0}
    # a word at a TR's start (100 s, TR 50): slots 104.0 ... 108.0, TRs 52, 53 x4, 54 x4
    word = int(np.flatnonzero(rec.onsets == 100.0)[0])
    g = gaussian(9)
    row = weights[word].toarray().ravel()
    np.testing.assert_allclose(row[52:55], [g[0], g[1:5].sum(), g[5:].sum()], atol=1e-12)
    assert row.sum() == pytest.approx(row[52:55].sum())


def test_method_names_and_dispatch():
    assert METHODS == ("paper", "published", "within_run", "hrf")
    rec = hand_recording()
    assert (word_weights(rec) != paper_weights(rec)).nnz == 0
    published = paper_weights(rec, method="published")
    assert (word_weights(rec, "published") != published).nnz == 0 and (word_weights(rec) != published).nnz > 0
    np.testing.assert_allclose(smooth(rec, method="published"), published @ rec.data, atol=1e-5)
    assert window_fits(rec, "published", delay=3.0, kernel="boxcar").all()
    assert (word_weights(rec, "within_run", delay=1.0) != within_run_weights(rec, delay=1.0)).nnz == 0
    assert not np.allclose(word_weights(rec).toarray(), word_weights(rec, "within_run", outside="ignore").toarray())


# ----------------------------------------------------------------------------------------------------------------
# "published": the authors' code, windows from the i-th grid time, empty windows zero


def lag_recording():
    # TRs every 2 s from 0 to 40 s, run 0 up to 22 s, run 1 from 24 s; words at 20.0, 20.5, 21.0 (run 0), a 4 s
    # rest, then 25.0, 25.5 and, after a 1.5 s gap that is not filled, 27.0 (run 1)
    return make_recording([20.0, 20.5, 21.0, 25.0, 25.5, 27.0], tr_times=np.arange(0, 41, 2.0),
                          runs=np.repeat([0, 1], [12, 9]))


def test_a_published_window_worked_out_by_hand():
    rec = lag_recording()
    # grid: 20.0 (0), 20.5, 21.0, the rest filled with 21.5 ... 24.5 (3-9), 25.0 (10), 25.5 (11), then 27.0 (12),
    # 27.5 (13), ...: grid[k] = 27.0 + 0.5 (k - 12) from index 12 on
    grid = paper_windows(rec).grid
    np.testing.assert_array_equal(grid[:14], [20.0, 20.5, 21.0, 21.5, 22.0, 22.5, 23.0, 23.5, 24.0, 24.5, 25.0,
                                              25.5, 27.0, 27.5])
    # "published" anchors word i at grid[i]: 20.0, 20.5, 21.0, then 21.5, 22.0, 22.5 for the onsets 25.0, 25.5,
    # 27.0; the targets anchor + 4.0 and anchor + 8.5:
    # word 3: 25.5 -> 11, 30.0 -> 18; word 4: 26.0 -> 11 (25.5 is 0.5 s away, 27.0 1.0 s), 30.5 -> 19;
    # word 5: 26.5 -> 12 (27.0 is closer than 25.5), 31.0 -> 20
    published = paper_windows(rec, method="published")
    assert list(zip(published.start, published.stop)) == [(8, 15), (9, 16), (10, 17), (11, 18), (11, 19), (12, 20)]
    # "paper" anchors at the onsets: the same windows for the first three words, later ones for the others
    # (word 3: 29.0 -> 16, 33.5 -> 25)
    paper = paper_windows(rec)
    assert list(zip(paper.start, paper.stop)) == [(8, 15), (9, 16), (10, 17), (16, 25), (17, 26), (20, 29)]
    # word 3's weights: slots 25.5, 27.0, 27.5, ..., 29.5 (indices 11-17), TRs 13, 14, 14, 14, 15, 15, 15 (the
    # first TR starting at or after each)
    g = gaussian(7)
    row = paper_weights(rec, method="published").toarray()[3]
    np.testing.assert_allclose(row[13:16], [g[0], g[1:4].sum(), g[4:].sum()], atol=1e-12)
    assert row.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(smooth(rec, method="published"), published_loop(rec), atol=1e-6)
    # the anchors lag the onsets by 25.0 - 21.5 = 3.5 s (the filled rest) and, for 27.0, by 4.5 s: the grid
    # is 6 places long from 21.5 to 25.0 but only 2 from 25.5 to 27.0
    np.testing.assert_allclose(window_lag(rec), [0, 0, 0, 3.5, 3.5, 4.5], atol=1e-12)
    table = lag_by_run(rec)
    assert table.columns.tolist() == ["run", "n_words", "words_lagged", "share_lagged", "median_lag_s", "max_lag_s"]
    assert table.to_dict("records") == [
        {"run": 0, "n_words": 3, "words_lagged": 0, "share_lagged": 0.0, "median_lag_s": 0.0, "max_lag_s": 0.0},
        {"run": 1, "n_words": 3, "words_lagged": 3, "share_lagged": 1.0, "median_lag_s": 3.5, "max_lag_s": 4.5},
    ]


def test_an_empty_published_window_gives_a_zero_row():
    # the grid ends at the last TR (22 s): 20.0, 20.5, ..., 22.0; both targets of both words lie after it, so
    # both ends are clamped to index 4
    rec = make_recording([20.0, 20.5], tr_times=np.arange(0, 23, 2.0))
    published = paper_windows(rec, method="published")
    assert published.start.tolist() == published.stop.tolist() == [4, 4] and published.empty.all()
    assert paper_weights(rec, method="published").nnz == 0
    assert not smooth(rec, method="published").any()
    # "paper" gives each the slot at its start (22.0 s, TR 11)
    paper = paper_windows(rec)
    assert paper.start.tolist() == [4, 4] and paper.stop.tolist() == [5, 5] and paper.empty.all()
    np.testing.assert_allclose(paper_weights(rec).toarray(), np.eye(12)[[11, 11]])
    for method in ("paper", "published"):
        assert paper_window_report(rec, method=method)["empty"] == 2
        assert window_fits(rec, method).all()
    # a window of no length is empty wherever it lies
    rec = lag_recording()
    zero = {"lookback": 0.0, "lookforward": 0.0, "word_duration": 0.0}
    assert paper_weights(rec, method="published", **zero).nnz == 0
    np.testing.assert_allclose(paper_weights(rec, **zero).sum(axis=1), 1.0)


def test_published_matrix_equals_the_reference_on_a_harry_potter_sized_layout():
    rec = hp_layout()
    data = np.random.default_rng(5).standard_normal((rec.n_trs, 3))
    fast = smooth(rec, data, method="published")
    np.testing.assert_allclose(fast, published_loop(rec, data), rtol=0, atol=1e-9)
    # the first run reads without a rest, so there "published" is "paper"; every later run lags by the rests
    # filled before it: run 1 starts 30.5 s after run 0's last word (637.5 -> 668.0 s), filling 30 s, and the
    # next two rests (1313.5 -> 1342.0, 2003.5 -> 2032.0 s) fill 28 s each
    lag = window_lag(rec)
    word_runs = rec.word_runs()
    for run, filled in enumerate([0.0, 30.0, 58.0, 86.0]):
        np.testing.assert_allclose(lag[word_runs == run], filled, atol=1e-9)
    first = word_runs == 0
    np.testing.assert_allclose(fast[first], smooth(rec, data)[first], rtol=0, atol=1e-12)
    table = lag_by_run(rec)
    assert table["n_words"].tolist() == np.bincount(word_runs).tolist()
    assert table["words_lagged"].tolist() == [0] + table["n_words"].tolist()[1:]
    assert table["max_lag_s"].tolist() == table["median_lag_s"].tolist() == [0.0, 30.0, 58.0, 86.0]
    # the windows lag, but none is empty: every row sums to 1
    np.testing.assert_allclose(np.asarray(paper_weights(rec, method="published").sum(axis=1)).ravel(), 1.0)


def test_unknown_methods_are_named_with_the_choices():
    rec = hand_recording()
    for call in (word_weights, window_fits):
        with pytest.raises(ValueError, match=r"choose one of \('paper', 'published', 'within_run', 'hrf'\)"):
            call(rec, "publish")
    with pytest.raises(ValueError, match=r"method must be one of \('paper', 'published'\)"):
        paper_weights(rec, method="within_run")


def test_the_lag_figure_draws_one_line_per_run():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from helpers.plots.recordings import window_lag_figure

    fig = window_lag_figure(lag_recording())
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.lines] == ["run 0 (3 words)", "run 1 (3 words)"]
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [3.5, 3.5, 4.5])
    assert ax.get_xlabel() and ax.get_ylabel() and not ax.get_title()
    assert fig.get_size_inches()[0] * fig.dpi <= 720
    table = pd.DataFrame({"run": [0, 0, 1], "lag_s": [0.0, 0.0, 2.0]})
    assert len(window_lag_figure(table).axes[0].lines) == 2
    plt.close("all")


# ----------------------------------------------------------------------------------------------------------------
# "within_run": the earlier rule, unchanged


def test_a_window_worked_out_by_hand(recording_factory):
    rec = recording_factory([20.0], tr_times=np.arange(0, 40, 2.0))
    weights = within_run_weights(rec).toarray()[0]
    # slots 24.0, 24.5, ..., 28.5 s: ten slots; TR 12 covers 24-26 s, TR 13 26-28 s, TR 14 28-30 s
    kernel = np.exp(-np.linspace(-5, 5, 10) ** 2 / 2)
    kernel /= kernel.sum()
    expected = np.zeros(20)
    expected[12], expected[13], expected[14] = kernel[:4].sum(), kernel[4:8].sum(), kernel[8:].sum()
    np.testing.assert_allclose(weights, expected, atol=1e-12)
    assert abs(weights[13] - 0.8794) < 1e-3 and abs(weights[12] - 0.1201) < 1e-3


def test_window_parameters_move_the_window(recording_factory):
    rec = recording_factory([20.0], tr_times=np.arange(0, 40, 2.0))
    # no delay, no look-around: slots 20.0 and 20.5 s, both in TR 10, so TR 10 gets everything
    w = within_run_weights(rec, lookback=0, lookforward=0, delay=0).toarray()[0]
    assert w[10] == pytest.approx(1.0)
    # off-grid onset 20.3 s: slots closest to 24.3 (24.5) and 28.8 (29.0): ten slots, 3 + 4 + 3 over TRs 12-14
    w = within_run_weights(recording_factory([20.3], tr_times=np.arange(0, 40, 2.0))).toarray()[0]
    kernel = np.exp(-np.linspace(-5, 5, 10) ** 2 / 2)
    kernel /= kernel.sum()
    np.testing.assert_allclose(w[12:15], [kernel[:3].sum(), kernel[3:7].sum(), kernel[7:].sum()], atol=1e-12)


def test_matrix_form_equals_a_per_word_loop_with_runs():
    rng = np.random.default_rng(3)
    runs_trs = [40, 35, 45]
    tr_times = np.arange(sum(runs_trs)) * 2.0
    runs = np.repeat(np.arange(3), runs_trs)
    onsets = []
    start = 0.0
    for n in runs_trs:
        # words from 20 s into the run to 12 s before its end, with random gaps
        t = start + 20.0
        while t < start + 2.0 * n - 12.0:
            onsets.append(t)
            t += rng.choice([0.5, 0.5, 1.0, 0.75, 2.5])
        start += 2.0 * n
    rec = make_recording(onsets, tr_times=tr_times, runs=runs, n_voxels=7, seed=5)
    for window in ({}, {"lookback": 1.0, "lookforward": 3.5, "delay": 4.0}, {"delay": 0.0}):
        np.testing.assert_allclose(smooth(rec, method="within_run", **window), within_run_loop(rec, **window), atol=1e-6)


def test_rows_sum_to_one_and_reduced_data_can_be_smoothed(recording_factory):
    rec = recording_factory(np.arange(20, 40, 0.5), n_voxels=4)
    for method, weights in (("within_run", within_run_weights), ("paper", paper_weights)):
        w = weights(rec)
        np.testing.assert_allclose(np.asarray(w.sum(axis=1)).ravel(), 1.0)
        reduced = rec.data[:, :2] * 3
        np.testing.assert_allclose(smooth(rec, reduced, method=method), w.toarray() @ reduced, atol=1e-6)
        with pytest.raises(ValueError, match="one row per TR"):
            smooth(rec, reduced[:-1], method=method)


def test_bad_windows_are_refused(recording_factory):
    rec = recording_factory([20.0, 30.0], tr_times=np.arange(0, 40, 2.0))
    with pytest.raises(ValueError, match="lookback must be a finite number of seconds >= 0"):
        within_run_weights(rec, lookback=-1)
    with pytest.raises(ValueError, match="lookback must be a finite number of seconds >= 0"):
        paper_weights(rec, lookback=-1)
    with pytest.raises(ValueError, match=r"word 1 \('w1', onset 30.00 s\) reaches outside the scanned period of its run \(1 word"):
        within_run_weights(rec, delay=9.0)
    runs = np.r_[np.zeros(17, int), np.ones(3, int)]
    with pytest.raises(ValueError, match="word 1 .* outside the scanned period of its run"):
        within_run_weights(recording_factory([20.0, 30.0], tr_times=np.arange(0, 40, 2.0), runs=runs))
    for weights in (within_run_weights, paper_weights):
        with pytest.raises(ValueError, match="kernel must be one of"):
            weights(rec, kernel="triangle")
    with pytest.raises(ValueError, match="unknown smoothing method 'fir'"):
        word_weights(rec, "fir")
    with pytest.raises(ValueError, match="unknown smoothing method 'fir'"):
        window_fits(rec, "fir")
    with pytest.raises(ValueError, match="the hrf method takes no delay"):
        word_weights(rec, "hrf", delay=5.0)
    with pytest.raises(ValueError, match="outside must be one of"):
        within_run_weights(rec, outside="drop")


def test_windows_that_leave_the_run_can_be_ignored(recording_factory):
    rec = recording_factory([20.0, 30.0], tr_times=np.arange(0, 40, 2.0))
    assert window_fits(rec, method="within_run", delay=9.0).tolist() == [True, False]
    w = within_run_weights(rec, delay=9.0, outside="ignore").toarray()
    assert w[0].sum() == pytest.approx(1.0) and not w[1].any()
    np.testing.assert_allclose(w[0], within_run_weights(recording_factory([20.0], tr_times=np.arange(0, 40, 2.0)), delay=9.0).toarray()[0])


def test_window_edges_are_rounded_to_the_half_second_grid(recording_factory):
    rec = recording_factory([20.0], tr_times=np.arange(0, 40, 2.0))
    np.testing.assert_array_equal(within_run_weights(rec, delay=6.2).toarray(), within_run_weights(rec, delay=6.0).toarray())
    assert not np.allclose(within_run_weights(rec, delay=6.3).toarray(), within_run_weights(rec, delay=6.0).toarray())


def test_boxcar_is_a_plain_average_of_the_window(recording_factory):
    rec = recording_factory([20.0], tr_times=np.arange(0, 40, 2.0))
    w = within_run_weights(rec, kernel="boxcar").toarray()[0]
    # ten slots 24.0-28.5 s: four in TR 12, four in TR 13, two in TR 14
    np.testing.assert_allclose(w[12:15], [0.4, 0.4, 0.2])


# ----------------------------------------------------------------------------------------------------------------
# "hrf"


def test_hrf_weights_integrate_the_positive_lobe(recording_factory):
    from nilearn.glm.first_level import glover_hrf

    rec = recording_factory([20.0, 21.5], tr_times=np.arange(0, 60, 2.0))
    w = hrf_weights(rec).toarray()
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    # an independent computation: the HRF sampled finely, positive part, summed within each TR
    t = np.arange(0, 9.5, 0.001)
    h = np.clip(np.interp(t, np.arange(0, 32, 0.01), glover_hrf(t_r=0.01, oversampling=1, time_length=32.0)), 0, None)
    for row, onset in enumerate(rec.onsets):
        expected = np.zeros(rec.n_trs)
        np.add.at(expected, np.floor((onset + t) / 2.0).astype(int), h)
        np.testing.assert_allclose(w[row], expected / expected.sum(), atol=2e-3)
    assert np.argmax(w[0]) == 12  # the lobe peaks about 5 s after the onset at 20 s: TR 24-26 s
    short = recording_factory([20.0], tr_times=np.arange(0, 28, 2.0))
    with pytest.raises(ValueError, match="haemodynamic response"):
        hrf_weights(short)
