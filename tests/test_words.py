import numpy as np
import pytest

from helpers.data import words as W


def test_word_rule_and_types():
    assert not W.is_word("+") and not W.is_word("--") and not W.is_word('"')
    assert W.is_word("a") and W.is_word("9")
    assert [W.word_type(w) for w in ['"Stop!', "Quill's", "twenty-one,", "Owl"]] == ["stop", "quill's", "twenty-one", "owl"]
    assert W.core_span('"Stop!"') == (1, 5)
    with pytest.raises(ValueError, match="not a word"):
        W.word_type("+")


def test_sentences_end_at_punctuation_and_non_words():
    items = ["Mara", "said,", '"Go!"', "+", "He", "left.", "Then", "why?"]
    assert W.sentence_ids(items).tolist() == [0, 0, 0, -1, 1, 1, 2, 2]
    # a paragraph mark also closes a sentence that has no final punctuation
    assert W.sentence_ids(["a", "b", "+", "c"]).tolist() == [0, 0, -1, 1]


def test_word_mask_marks_the_words_among_the_items():
    np.testing.assert_array_equal(W.word_mask(["+", "Harry", "--", "ran.", "", "3"]), [False, True, False, True, False, True])


def test_vocabulary_counts():
    v = W.vocabulary(["The", "owl", "+", "the", "owl.", "flew"])
    assert v["items shown"] == 6
    assert v["word occurrences"] == 5
    assert v["non-words (fixations, punctuation)"] == 1
    assert v["word types"] == 3
    assert v["types seen once"] == 1
