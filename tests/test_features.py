import numpy as np
import pytest

from helpers import features as F
from helpers import models as M


@pytest.fixture(scope="module")
def minilm():
    tokenizer, model, _ = M.load("all-MiniLM-L6-v2")
    return tokenizer, model


@pytest.fixture(scope="module")
def smollm():
    tokenizer, model, _ = M.load("SmolLM2-135M")
    return tokenizer, model


ITEMS = ["Harry's", "owl,", "unbelievably", "flew.", "+", '"Stop!"', "she", "said."]


def pooled_tokens(tokenizer, items, sentence):
    table = F.token_table(tokenizer, items, sentence)
    return [(row.token, row.word) for row in table.itertuples() if isinstance(row.word, str)]


def test_wordpiece_mapping(minilm):
    tokenizer, _ = minilm
    assert pooled_tokens(tokenizer, ITEMS, 0) == [
        ("harry", "Harry's"), ("'", "Harry's"), ("s", "Harry's"), ("owl", "owl,"),
        ("un", "unbelievably"), ("##bel", "unbelievably"), ("##ie", "unbelievably"), ("##va", "unbelievably"),
        ("##bly", "unbelievably"), ("flew", "flew."),
    ]  # the comma, the full stop, [CLS] and [SEP] belong to no word
    assert pooled_tokens(tokenizer, ITEMS, 1) == [("stop", '"Stop!"')]


def test_bpe_mapping_keeps_leading_spaces(smollm):
    tokenizer, _ = smollm
    assert pooled_tokens(tokenizer, ITEMS, 0) == [
        ("H", "Harry's"), ("arry", "Harry's"), ("'s", "Harry's"), ("Ġowl", "owl,"),
        ("Ġunbelie", "unbelievably"), ("v", "unbelievably"), ("ably", "unbelievably"), ("Ġflew", "flew."),
    ]
    assert pooled_tokens(tokenizer, ITEMS, 2) == [("she", "she"), ("Ġsaid", "said.")]


def test_token_word_index_on_hand_made_offsets():
    # text 'Hello owl, ran.': word cores 'Hello', 'owl', 'ran'
    spans = np.array([[0, 5], [6, 9], [11, 14]])
    # special token, 'Hel', 'lo', ' owl' (leading space), ',', ' ran', '.'
    offsets = np.array([[0, 0], [0, 3], [3, 5], [5, 9], [9, 10], [10, 14], [14, 15]])
    assert F.token_word_index(offsets, spans).tolist() == [-1, 0, 0, 1, -1, 2, -1]


@pytest.mark.parametrize("which", ["minilm", "smollm"])
def test_batched_equals_one_sentence_at_a_time(which, request):
    tokenizer, model = request.getfixturevalue(which)
    items = ["The", "ferry", "crossed.", "+", "Mara", "watched", "the", "unbelievably", "slow", "rope", "move.", "Rain", "fell."]
    batched = F.extract(tokenizer, model, items, token_budget=4096, progress=False)
    single = F.extract(tokenizer, model, items, token_budget=1, progress=False)  # one sentence per batch
    assert batched.shape == (model.config.num_hidden_layers + 1, 12, model.config.hidden_size)
    # SmolLM2 has a few "massive activation" dimensions (values near 800) where
    # float32 sums differ in the 5th significant digit, hence rtol beside atol.
    np.testing.assert_allclose(batched, single, atol=1e-4, rtol=1e-4)


def test_mean_and_first_pooling_against_the_raw_model(minilm):
    import torch

    tokenizer, model = minilm
    items = ["unbelievably", "slow."]
    mean = F.extract(tokenizer, model, items, progress=False)
    first = F.extract(tokenizer, model, items, pooling="first", progress=False)
    enc = tokenizer("unbelievably slow.", return_tensors="pt")
    with torch.inference_mode():
        states = torch.stack(model(**enc, output_hidden_states=True).hidden_states)[:, 0].numpy()
    # tokens: [CLS] un ##bel ##ie ##va ##bly slow . [SEP]
    np.testing.assert_allclose(mean[:, 0], states[:, 1:6].mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(first[:, 0], states[:, 1], atol=1e-5)
    np.testing.assert_allclose(mean[:, 1], states[:, 6], atol=1e-5)


def test_type_means():
    vectors = np.arange(2 * 4 * 3, dtype=np.float32).reshape(2, 4, 3)
    names, means = F.type_means(vectors, ["b", "a", "b", "c"])
    assert names.tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(means[:, 1], (vectors[:, 0] + vectors[:, 2]) / 2)
    np.testing.assert_allclose(means[:, 0], vectors[:, 1])
    with pytest.raises(ValueError, match="one type per occurrence"):
        F.type_means(vectors, ["a"])


def test_bad_options(minilm):
    tokenizer, model = minilm
    with pytest.raises(ValueError, match="unknown context 'document'"):
        F.extract(tokenizer, model, ["a"], context="document")
    with pytest.raises(ValueError, match="unknown pooling 'max'"):
        F.extract(tokenizer, model, ["a"], pooling="max")
    with pytest.raises(ValueError, match="none of the items is a word"):
        F.extract(tokenizer, model, ["+", "--"])
