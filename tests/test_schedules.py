import pytest

from nint import NintError, batch_ratio, sampling_interval


@pytest.mark.parametrize(
    "t, expected",
    [
        (0, 0.2),
        (9, 0.2),
        (10, 0.28),
        (19, 0.28),
        (30, 0.44),
        (35, 0.44),
        (70, 0.76),
        (99, 0.92),
        (100, 1.0),
    ],
)
def test_step_scheduler_table(t, expected):
    # r0 + floor(10 t / T) (1 - r0) / 10 with T = 100, r0 = 0.2
    assert batch_ratio("step", 0.2, t / 100) == pytest.approx(expected)


@pytest.mark.parametrize("p, expected", [(0.0, 0.2), (0.25, 0.4), (0.5, 0.6), (1.0, 1.0)])
def test_linear_scheduler(p, expected):
    assert batch_ratio("linear", 0.2, p) == pytest.approx(expected)


def test_constant_scheduler():
    assert {batch_ratio("constant", 0.3, p / 10) for p in range(11)} == {0.3}


@pytest.mark.parametrize(
    "p, expected",
    [
        (0.0, 1),
        (0.24, 1),
        (0.25, 10),
        (0.39, 10),
        (0.40, 20),
        (0.55, 30),
        (0.70, 40),
        (0.85, 50),
        (0.999, 50),
        (1.0, 50),
    ],
)
def test_incremental_interval(p, expected):
    assert sampling_interval("incremental", p) == expected


@pytest.mark.parametrize(
    "p, expected",
    [
        (0.0, 50),
        (0.14, 50),
        (0.15, 40),
        (0.30, 30),
        (0.45, 20),
        (0.60, 10),
        (0.74, 10),
        (0.75, 1),
        (1.0, 1),
    ],
)
def test_decremental_interval(p, expected):
    assert sampling_interval("decremental", p) == expected


def test_dense_intervals():
    assert sampling_interval("dense", 0.5) == 1
    assert sampling_interval("dense2", 0.5) == 2
    assert sampling_interval("dense2", 0.5, dense2_every=5) == 5


def test_unknown_names():
    with pytest.raises(NintError, match="scheduler"):
        batch_ratio("cosine", 0.2, 0.5)
    with pytest.raises(NintError, match="interval"):
        sampling_interval("sparse", 0.5)
