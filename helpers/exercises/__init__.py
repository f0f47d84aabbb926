"""Answer checks for the exercises that close each chapter.

Every exercise has an answer cell in its chapter::

    answer_4_1 = None  # the form of the answer
    exercises.check("4.1", answer_4_1, cfg)

:func:`check` computes the answer itself from the chapter's scenario (through
the same cached tables the chapter reads) and says *right*, or *not yet* and
why, without giving the answer away; an exercise that needs the simulation
says so on a real dataset. The checks of chapter N live in ``chapterN``;
the verdicts and comparisons in :mod:`~helpers.exercises.verdict`.
"""

from . import chapter1, chapter2, chapter3, chapter4, chapter5, chapter6, chapter7, chapter8, chapter9  # noqa: F401
from .registry import CHECKS, check, variable
from .verdict import Verdict

__all__ = ["CHECKS", "Verdict", "check", "variable"]
