"""The verdict on a student's answer, and the comparisons that make it.

A check compares an answer with the value it computes itself from the
chapter's scenario. It never prints that value on a wrong answer: it says
what is wrong with the answer's form, or how far off it is, and where to
look again.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass

RIGHT, NOT_YET, DOES_NOT_APPLY = "right", "not yet", "does not apply"
_MARK = {RIGHT: "✓ right", NOT_YET: "✗ not yet", DOES_NOT_APPLY: "· nothing to check"}


@dataclass(frozen=True)
class Verdict:
    """Right, not yet, or does not apply to this scenario, with the reason; true only when right."""

    status: str
    why: str
    exercise: str = ""

    def __bool__(self) -> bool:
        return self.status == RIGHT

    def __repr__(self) -> str:
        head = f"Exercise {self.exercise}: " if self.exercise else ""
        return f"{head}{_MARK[self.status]}: {self.why}"


def right(why: str) -> Verdict:
    return Verdict(RIGHT, why)


def not_yet(why: str) -> Verdict:
    return Verdict(NOT_YET, why)


def does_not_apply(why: str) -> Verdict:
    return Verdict(DOES_NOT_APPLY, why)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value))


def number(answer, expected: float, what: str, hint: str, rtol: float = 0.02, atol: float = 1e-3) -> Verdict:
    """Right when ``answer`` is within ``rtol`` (relative) or ``atol`` (absolute) of ``expected``.

    ``what`` names the quantity in the verdict; ``hint`` says where to look
    again when the answer is off.
    """
    if not _is_number(answer):
        return not_yet(f"expected one number ({what}), got {type(answer).__name__} {answer!r}")
    answer = float(answer)
    if abs(answer - expected) <= max(atol, rtol * abs(expected)):
        return right(f"{answer:.4g} is {what}")
    side = "too high" if answer > expected else "too low"
    return not_yet(f"{answer:.4g} is {side} for {what}. {hint}")


def choice(answer, expected: str, options: tuple[str, ...], what: str, hint: str) -> Verdict:
    """Right when ``answer`` is the option ``expected`` (case and outer spaces ignored)."""
    if expected not in options:
        raise ValueError(f"the expected answer {expected!r} is not one of the options {options}")
    given = answer.strip().lower() if isinstance(answer, str) else None
    if given not in {o.lower() for o in options}:
        return not_yet(f"answer with one of {', '.join(repr(o) for o in options)} ({what}), not {answer!r}")
    if given == expected.lower():
        return right(f"{answer.strip()!r}: {what}")
    return not_yet(f"{answer.strip()!r} is not what this scenario's numbers say about {what}. {hint}")


def mapping(answer, expected: Mapping, what: str, hint: str,
            same: Callable[[object, object], bool] = lambda a, b: a == b) -> Verdict:
    """Right when ``answer`` has exactly the keys of ``expected`` and ``same(answer[k], expected[k])`` for each."""
    if not isinstance(answer, Mapping):
        return not_yet(f"expected a dict ({what}), got {type(answer).__name__}")
    missing = [k for k in expected if k not in answer]
    extra = [k for k in answer if k not in expected]
    if missing or extra:
        parts = ([f"missing {', '.join(map(repr, missing))}"] if missing else []) + (
            [f"not asked for {', '.join(map(repr, extra))}"] if extra else [])
        return not_yet(f"the dict's keys are not those of {what}: {'; '.join(parts)}")
    wrong = [k for k in expected if not same(answer[k], expected[k])]
    if wrong:
        return not_yet(f"{len(wrong)} of {len(expected)} entries are not yet right ({', '.join(map(repr, wrong))}). "
                       f"{hint}")
    return right(f"all {len(expected)} entries of {what} are right")


def numbers_close(rtol: float = 0.02, atol: float = 1e-3) -> Callable[[object, object], bool]:
    """A ``same`` for :func:`mapping`: exact where the expected value is a whole number (a layer, a count), within
    ``rtol`` (relative) or ``atol`` (absolute) elsewhere; NaN (a value that does not exist) matches only NaN."""

    def same(given, expected) -> bool:
        if not (isinstance(given, numbers.Real) and not isinstance(given, bool)):
            return False
        given = float(given)
        if isinstance(expected, numbers.Integral):
            return given == expected
        expected = float(expected)
        if math.isnan(expected) or math.isnan(given):
            return math.isnan(expected) and math.isnan(given)
        return abs(given - expected) <= max(atol, rtol * abs(expected))

    return same
