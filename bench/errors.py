"""The one error type that reaches a user: a problem and how to fix it."""

from __future__ import annotations


class BenchError(Exception):
    """Bad input or a failed run, reported as ``error: <problem> (fix: <fix>)`` with no traceback.

    Bugs raise ordinary exceptions; ``BenchError`` is for things the user can act on.
    """

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem} (fix: {fix})")
        self.problem = problem
        self.fix = fix
