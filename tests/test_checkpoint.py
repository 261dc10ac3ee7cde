"""Run folders keep the fitted weights (safetensors) and load back into the same model."""

import json

import pytest
import torch
from conftest import synthetic_image
from torch import nn

from nint import ImageSignal, NintError, fit, load_run
from nint.checkpoint import WEIGHTS

TINY = {"width": 16, "depth": 2, "iterations": 3}


@pytest.fixture(scope="module")
def signal():
    return ImageSignal(synthetic_image(12, 10), name="small")


def test_a_saved_run_loads_back_into_the_same_model(signal, tmp_path):
    result = fit(signal, "nint", **TINY)
    folder = result.save(tmp_path / "run")
    model, config = load_run(folder)
    assert config["model"]["class"] == "Siren" and config["signal"]["height"] == 12
    for (name, got), (_, want) in zip(
        model.state_dict().items(), result.model.state_dict().items(), strict=True
    ):
        assert torch.equal(got, want.cpu()), name
    with torch.no_grad():
        prediction = model(signal.coords)
    assert torch.equal(prediction, result.model(signal.coords).detach())
    assert not model.training


def test_weights_are_not_a_pickle(signal, tmp_path):
    folder = fit(signal, "uniform", **TINY).save(tmp_path / "run")
    head = (folder / WEIGHTS).read_bytes()[:16]
    assert not head.startswith((b"\x80", b"PK"))  # neither a pickle nor torch.save's zip
    header = int.from_bytes(head[:8], "little")  # safetensors: 8-byte length, then JSON
    meta = json.loads((folder / WEIGHTS).read_bytes()[8 : 8 + header])
    assert meta["__metadata__"]["written_by"] == "nint"


class Custom(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 3)

    def forward(self, x):
        return self.layer(x)


def test_a_user_model_is_saved_but_not_rebuilt(signal, tmp_path):
    folder = fit(signal, "uniform", model=Custom(), iterations=2).save(tmp_path / "run")
    assert (folder / WEIGHTS).is_file()
    with pytest.raises(NintError, match=r"model of the user's own \(Custom\)"):
        load_run(folder)


def test_load_run_refuses_what_is_not_a_run(signal, tmp_path):
    with pytest.raises(NintError, match="no config.json"):
        load_run(tmp_path)
    folder = fit(signal, "uniform", **TINY).save(tmp_path / "run")
    config = json.loads((folder / "config.json").read_text())
    config["model"]["width"] = 32
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(NintError, match="does not fit the model"):
        load_run(folder)
    (folder / WEIGHTS).write_bytes(b"not safetensors")
    with pytest.raises(NintError, match="cannot read the weights"):
        load_run(folder)
