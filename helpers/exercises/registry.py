"""Which check belongs to which exercise, and the one function a chapter calls."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .verdict import Verdict, does_not_apply, not_yet

# exercise number -> (check, applies); a check is f(answer, cfg, **context) -> Verdict, and applies(cfg) returns
# None when the exercise applies to the scenario, else why it does not
CHECKS: dict[str, tuple[Callable[..., Verdict], Callable[..., str | None]]] = {}


def _always(cfg) -> None:
    return None


def exercise(number: str, applies: Callable[..., str | None] = _always):
    """Register the decorated function as the check of exercise ``number`` (e.g. ``"4.1"``)."""

    def register(check: Callable[..., Verdict]) -> Callable[..., Verdict]:
        if number in CHECKS:
            raise ValueError(f"exercise {number} has two checks: {CHECKS[number][0].__name__} and {check.__name__}")
        CHECKS[number] = (check, applies)
        return check

    return register


def variable(number: str) -> str:
    """The name of the variable that holds the answer to exercise ``number`` in its chapter."""
    return "answer_" + number.replace(".", "_")


def check(number: str, answer, cfg, **context) -> Verdict:
    """Say whether ``answer`` is right for exercise ``number`` on the scenario ``cfg``, and why.

    ``context`` holds what the chapter defined that the check needs (the
    exercise's answer cell passes it). ``None``, the answer cell's starting
    value, is never right.
    """
    if number not in CHECKS:
        raise KeyError(f"there is no exercise {number!r}; the exercises are {', '.join(sorted(CHECKS, key=_order))}")
    run, applies = CHECKS[number]
    reason = applies(cfg)
    if reason is not None:
        verdict = does_not_apply(reason)
    elif answer is None:
        verdict = not_yet(f"{variable(number)} is still None: put your answer there, in the form the exercise asks "
                          "for, and run the cell again")
    else:
        verdict = run(answer, cfg, **context)
    return dataclasses.replace(verdict, exercise=number)


def _order(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in number.split("."))
