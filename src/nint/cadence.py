"""When a fit stops and when it evaluates: the two questions the loop asks after every step."""

from __future__ import annotations

import math
from collections.abc import Sequence


class Budget:
    """The training budget: an iteration count, training-clock seconds, or both (first wins)."""

    def __init__(self, iterations: int | None, seconds: float | None) -> None:
        self.iterations = iterations
        self.seconds = seconds

    def spent(self, step: int, train_seconds: float) -> bool:
        """True once ``step`` iterations or ``train_seconds`` reach the budget."""
        return (self.iterations is not None and step >= self.iterations) or (
            self.seconds is not None and train_seconds >= self.seconds
        )

    def progress(self, step: int, train_seconds: float) -> float:
        """Training progress t / T in [0, 1]: the further along of the two budgets."""
        fractions = [0.0]
        if self.iterations is not None:
            fractions.append(step / self.iterations)
        if self.seconds is not None:
            fractions.append(train_seconds / self.seconds)
        return min(max(fractions), 1.0)


class EvalCadence:
    """Is an evaluation due after iteration ``step``, at ``train_seconds`` on the clock?

    Due every ``every`` iterations, at each iteration in ``at``, and each time the training
    clock passes another multiple of ``every_seconds`` (several multiples passed in one step
    make one evaluation). Iteration 0 and the final iteration are the loop's business.
    """

    def __init__(
        self, every: int | None, every_seconds: float | None, at: Sequence[int] | None
    ) -> None:
        self.every = every
        self.every_seconds = every_seconds
        self.at = frozenset(at or ())
        self._next_seconds = every_seconds or math.inf

    @property
    def reads_clock(self) -> bool:
        """Whether ``due`` depends on the training clock (then it must be the shared one)."""
        return self.every_seconds is not None

    def due(self, step: int, train_seconds: float) -> bool:
        due = (
            (self.every is not None and step % self.every == 0)
            or step in self.at
            or train_seconds >= self._next_seconds
        )
        if due:
            while self._next_seconds <= train_seconds:
                self._next_seconds += self.every_seconds or math.inf
        return due
