"""Which shown items are words, what type each word belongs to, and sentences.

One documented rule, used for every dataset:

* An item is a *word* if it contains at least one letter or digit. The
  fixation mark ``"+"``, punctuation-only items and paragraph marks are not.
* A word's *core* is the item with leading and trailing punctuation removed
  (``'"Stop!'`` -> ``'Stop'``); apostrophes and hyphens inside a word stay
  (``"Quill's"``, ``"twenty-one"``).
* A word's *type* is its core in lower case. The same rule holds for cased
  and uncased models, so every model is scored against the same candidate
  set of types.
* A sentence ends after a word whose last letter-or-digit is followed by
  ``.``, ``!`` or ``?``, and at every non-word (fixation marks separate
  paragraphs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_ALNUM = re.compile(r"[^\W_]", re.UNICODE)
_CORE = re.compile(r"[^\W_](?:.*[^\W_])?", re.UNICODE | re.DOTALL)
_SENTENCE_END = re.compile(r"[^\W_][^\w]*[.!?][^\w]*$", re.UNICODE)


def is_word(item: str) -> bool:
    """True if a shown item counts as a word (contains a letter or digit)."""
    return _ALNUM.search(item) is not None


def core_span(item: str) -> tuple[int, int]:
    """Character span ``(start, end)`` of the word's core inside the item.

    Raises ``ValueError`` for a non-word.
    """
    match = _CORE.search(item)
    if match is None:
        raise ValueError(f"{item!r} is not a word (it has no letter or digit).")
    return match.start(), match.end()


def word_type(item: str, keep_case: bool = False) -> str:
    """The type of a word: its core, lower-cased (or, with ``keep_case``, as shown: for a cased model, as the
    paper's published code reads it)."""
    start, end = core_span(item)
    return item[start:end] if keep_case else item[start:end].lower()


def ends_sentence(item: str) -> bool:
    """True if a word closes its sentence (``'night.'``, ``'go?"'``)."""
    return _SENTENCE_END.search(item) is not None


def sentence_ids(items: Sequence[str]) -> np.ndarray:
    """Sentence number of every shown item (non-words get -1).

    Sentences are numbered from 0 in order of appearance.
    """
    ids = np.full(len(items), -1, dtype=np.int64)
    current, open_sentence = 0, False
    for i, item in enumerate(items):
        if not is_word(item):
            if open_sentence:
                current += 1
                open_sentence = False
            continue
        ids[i] = current
        open_sentence = True
        if ends_sentence(item):
            current += 1
            open_sentence = False
    return ids


def word_mask(items: Sequence[str]) -> np.ndarray:
    """Which of the items are words (:func:`is_word`), as a boolean array."""
    return np.array([is_word(str(item)) for item in items], dtype=bool)


def vocabulary(items: Sequence[str]) -> dict:
    """Counts that describe a text under the rule above: items, words, types, hapaxes."""
    types = [word_type(item) for item in items if is_word(item)]
    _, counts = np.unique(types, return_counts=True)
    return {
        "items shown": len(items),
        "word occurrences": len(types),
        "non-words (fixations, punctuation)": len(items) - len(types),
        "word types": len(counts),
        "types seen once": int(np.sum(counts == 1)),
        "occurrences of the 10 most frequent types": int(np.sort(counts)[::-1][:10].sum()),
    }
