"""The budget and the evaluation cadence against hand-computed tables; FitSettings checks."""

import math

import pytest

from nint import FitSettings, NintError
from nint.cadence import Budget, EvalCadence


def test_cadence_in_iterations_and_listed_steps():
    cadence = EvalCadence(every=3, every_seconds=None, at=(4, 5))
    due = [step for step in range(1, 11) if cadence.due(step, 0.0)]
    assert due == [3, 4, 5, 6, 9]
    assert not cadence.reads_clock


def test_cadence_in_seconds_takes_one_evaluation_per_crossing():
    cadence = EvalCadence(every=None, every_seconds=1.0, at=None)
    clock = [0.4, 0.9, 1.0, 1.5, 3.7, 3.9, 4.0, 4.2]
    assert [cadence.due(i + 1, t) for i, t in enumerate(clock)] == [
        False, False, True, False, True, False, True, False,
    ]  # fmt: skip
    assert cadence.reads_clock


def test_budget_stops_at_the_first_and_reports_progress():
    both = Budget(iterations=10, seconds=2.0)
    assert not both.spent(9, 1.9) and both.spent(10, 0.1) and both.spent(3, 2.0)
    assert both.progress(5, 0.5) == 0.5 and both.progress(1, 1.5) == 0.75
    assert Budget(None, 4.0).progress(100, 5.0) == 1.0


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "give a training budget"),
        ({"iterations": 0}, "at least 1"),
        ({"seconds": math.nan}, "positive finite seconds"),
        ({"iterations": 5, "lr": -1.0}, "learning rate"),
        ({"iterations": 5, "lr": math.inf}, "learning rate"),
        ({"iterations": 5, "eval_every": 0}, "cadence"),
        ({"iterations": 5, "eval_at": (0,)}, "integers >= 1"),
        ({"iterations": 5, "train_chunk": -3}, "train_chunk"),
    ],
)
def test_settings_are_checked_once_at_construction(options, message):
    with pytest.raises(NintError, match=message):
        FitSettings(**options)


def test_settings_split_keeps_strategy_options_apart():
    settings, rest = FitSettings.split({"iterations": 3, "lr": 1e-3, "xi": 0.5, "ratio": 0.1})
    assert settings.iterations == 3 and settings.lr == 1e-3
    assert rest == {"xi": 0.5, "ratio": 0.1}
