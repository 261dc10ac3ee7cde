"""Every strategy and modality fits exactly as recorded in tests/golden/fits.json (bit for bit).

Refactors of the loop, the samplers or the signals must not change a single selected index,
weight or metric. See tests/golden_fits.py for how the fingerprints were made and re-recorded.
"""

import json

import pytest
from golden_fits import CASES, GOLDEN, fingerprint, machine

RECORDED = json.loads(GOLDEN.read_text())


def test_every_case_is_recorded():
    assert set(RECORDED["cases"]) == set(CASES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_fit_is_bitwise_as_recorded(case):
    got, want = fingerprint(case), RECORDED["cases"][case]
    where = f"recorded on {RECORDED['machine']}, running on {machine()}"
    assert got["selections"] == want["selections"], f"selections differ ({where})"
    assert got["history"] == want["history"], f"history differs ({where})"
    assert got["weights"] == want["weights"], f"final weights differ ({where})"
    assert got["prediction"] == want["prediction"], f"final prediction differs ({where})"
    assert got["iterations"] == want["iterations"]
