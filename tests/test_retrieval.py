import math

import numpy as np
import pytest

from helpers.align import retrieval as R


def test_cosine_against_hand_values():
    q = np.array([[1.0, 0.0], [1.0, 1.0]])
    c = np.array([[2.0, 0.0], [0.0, 3.0], [-1.0, -1.0]])
    s = np.sqrt(0.5)
    np.testing.assert_allclose(R.cosine(q, c), [[1, 0, -s], [s, s, -1]], atol=1e-12)


def test_csls_against_a_direct_computation():
    rng = np.random.default_rng(0)
    q, c = rng.standard_normal((6, 4)), rng.standard_normal((9, 4))
    k = 3
    cos = np.array([[a @ b / np.linalg.norm(a) / np.linalg.norm(b) for b in c] for a in q])
    r_q = np.array([np.mean(sorted(row)[-k:]) for row in cos])  # each query's k nearest candidates
    r_c = np.array([np.mean(sorted(col)[-k:]) for col in cos.T])  # each candidate's k nearest queries
    expected = 2 * cos - r_q[:, None] - r_c[None, :]
    np.testing.assert_allclose(R.csls(q, c, neighbours=k), expected, atol=1e-12)


def test_csls_with_100_neighbours_against_a_plain_python_loop():
    """CSLS(q, c) = 2 cos(q, c) - r_T(q) - r_S(c): r_T(q) the mean cosine of q to its K nearest candidates, r_S(c)
    that of c to its K nearest reference rows; written out with loops and sorted(), K = 100 as in the paper's code."""
    rng = np.random.default_rng(11)
    n_c, n_q, n_ref, K = 130, 40, 150, 100
    candidates = rng.standard_normal((n_c, 8))
    correct = rng.integers(0, n_c, n_q)
    queries = candidates[correct] + 3.0 * rng.standard_normal((n_q, 8))
    reference = np.vstack([queries, rng.standard_normal((n_ref - n_q, 8))])

    def cos(a, b):
        return sum(x * y for x, y in zip(a, b)) / math.sqrt(sum(x * x for x in a)) / math.sqrt(sum(y * y for y in b))

    Q, C, M = queries.tolist(), candidates.tolist(), reference.tolist()
    r_t = [sum(sorted((cos(q, c) for c in C), reverse=True)[:K]) / K for q in Q]
    r_s = [sum(sorted((cos(m, c) for m in M), reverse=True)[:K]) / K for c in C]
    loop = [[2 * cos(q, c) - r_t[i] - r_s[j] for j, c in enumerate(C)] for i, q in enumerate(Q)]
    scores = R.csls(queries, candidates, K, reference)
    np.testing.assert_allclose(scores, loop, rtol=0, atol=1e-12)
    # precision@k: the correct candidate among the k best, i.e. fewer than k candidates scored above it
    above = [sum(s > row[t] for s in row) for row, t in zip(loop, correct.tolist())]
    hits = R.hit_rates(scores, correct, range(1, 101))
    for k in range(1, 101):
        assert hits[k].tolist() == [float(a < k) for a in above]
    assert 0 < hits[1].mean() < hits[30].mean() < hits[100].mean() < 1  # the range is not trivial


def test_csls_neighbourhoods_wider_than_a_side_average_all_of_it():
    rng = np.random.default_rng(12)
    q, c, ref = rng.standard_normal((5, 3)), rng.standard_normal((7, 3)), rng.standard_normal((4, 3))
    cos = R.cosine(q, c)
    expected = 2 * cos - cos.mean(axis=1)[:, None] - R.cosine(ref, c).mean(axis=0)[None, :]
    np.testing.assert_allclose(R.csls(q, c, 100, ref), expected, atol=1e-12)
    with pytest.raises(ValueError, match="neighbours must be >= 1"):
        R.csls(q, c, 0, ref)


def test_csls_reads_a_cosine_matrix_given_to_it_and_refuses_one_of_other_queries():
    rng = np.random.default_rng(13)
    q, c, ref = rng.standard_normal((6, 4)), rng.standard_normal((9, 4)), rng.standard_normal((8, 4))
    given = R.cosine(q, c)
    assert np.array_equal(R.csls(q, c, 3, ref, similarity=given), R.csls(q, c, 3, ref))  # the same bits
    shifted = R.csls(q, c, 3, ref, similarity=given + 1.0)  # what is given is used: 2 (s + 1) - (r_t + 1) - r_s
    np.testing.assert_allclose(shifted, R.csls(q, c, 3, ref) + 1.0, atol=1e-12)
    with pytest.raises(ValueError, match=r"similarity must be cosine\(queries, candidates\), shape \(6, 9\); got shape \(5, 9\)"):
        R.csls(q, c, 3, ref, similarity=given[:5])


def test_hit_rates_count_ranks_and_share_ties():
    scores = np.array([[0.9, 0.5, 0.1], [0.9, 0.5, 0.1], [0.2, 0.2, 0.2]])
    hits = R.hit_rates(scores, np.array([0, 1, 2]), ks=[1, 2, 3])
    assert hits[1].tolist() == [1.0, 0.0, pytest.approx(1 / 3)]
    assert hits[2].tolist() == [1.0, 1.0, pytest.approx(2 / 3)]
    assert hits[3].tolist() == [1.0, 1.0, 1.0]
    assert R.chance(10, 400) == 0.025


def test_random_scores_give_chance_on_average():
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((4000, 50))
    hits = R.hit_rates(scores, rng.integers(0, 50, 4000), ks=[5])
    assert abs(hits[5].mean() - R.chance(5, 50)) < 0.015


def test_bad_input():
    with pytest.raises(ValueError, match="between 1 and the number of candidates \\(3\\)"):
        R.hit_rates(np.zeros((2, 3)), np.array([0, 1]), ks=[4])
    with pytest.raises(ValueError, match="all-zero"):
        R.cosine(np.zeros((1, 2)), np.ones((2, 2)))
    with pytest.raises(ValueError, match="same width"):
        R.cosine(np.ones((1, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="one correct index per query"):
        R.hit_rates(np.zeros((2, 3)), np.array([0]), ks=[1])


def test_permutation_chance_against_hand_values_and_brute_force():
    # candidate 0 is a hub ranked first by every query; label 0 is the answer for 2 of 3 queries
    scores = np.array([[0.9, 0.5, 0.1], [0.8, 0.1, 0.5], [0.7, 0.6, 0.2]])
    correct = np.array([0, 0, 2])
    null = R.permutation_chance(scores, correct, ks=[1, 2])
    # P(top 1 = c): c0 always -> P@1 = 2/3 * 1 + 1/3 * 0
    assert null[1] == pytest.approx(2 / 3)
    # top 2: c0 always; c1 in rows 0 and 2; c2 in row 1 -> 2/3 * 1 + 1/3 * 1/3
    assert null[2] == pytest.approx(2 / 3 + 1 / 9)
    # brute force over all pairings of rows and labels
    from itertools import permutations

    brute = np.mean([R.hit_rates(scores[list(p)], correct, [2])[2].mean() for p in permutations(range(3))])
    assert null[2] == pytest.approx(brute)


def test_permutation_chance_equals_k_over_n_without_hubs_or_frequent_words():
    rng = np.random.default_rng(2)
    scores = rng.standard_normal((3000, 40))
    correct = np.tile(np.arange(40), 75)
    assert R.permutation_chance(scores, correct, [4])[4] == pytest.approx(4 / 40, abs=0.005)
    ties = np.zeros((6, 3))
    assert R.permutation_chance(ties, np.array([0, 1, 2, 0, 1, 2]), [1])[1] == pytest.approx(1 / 3)


def test_permutation_chance_fast_path_equals_the_exact_one():
    rng = np.random.default_rng(4)
    scores = rng.standard_normal((200, 30))
    correct = rng.integers(0, 30, 200)
    fast = R.permutation_chance(scores, correct, [1, 5, 10])
    rounded = np.round(scores, 1)  # many ties, some across the top-k boundary: the exact path
    exact = R.permutation_chance(rounded, correct, [1, 5, 10])

    for k in (1, 5, 10):
        brute_fast = np.mean([R.hit_rates(scores[rng.permutation(200)], correct, [k])[k].mean() for _ in range(400)])
        brute_tied = np.mean([R.hit_rates(rounded[rng.permutation(200)], correct, [k])[k].mean() for _ in range(400)])
        assert fast[k] == pytest.approx(brute_fast, abs=0.01)
        assert exact[k] == pytest.approx(brute_tied, abs=0.01)
