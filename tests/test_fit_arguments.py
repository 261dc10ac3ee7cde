"""What ``nint.fit`` takes besides settings and strategy options: its argument checks (each
misuse one ``NintError`` before training), the per-evaluation callback and the optimizer factory.
"""

import json
import re

import numpy as np
import pytest
import torch
from conftest import synthetic_image
from torch import nn

import nint.train
from nint import FitSettings, ImageSignal, NintError, Siren, fit, make_sampler

TINY = {"width": 8, "depth": 2}


@pytest.fixture(scope="module")
def signal():
    return ImageSignal(synthetic_image(8, 8), name="tiny")  # 3 channels


def sgd(rate):
    return lambda model: torch.optim.SGD(model.parameters(), lr=rate)


class Flat(nn.Module):
    """Returns one value per coordinate as a 1-D tensor, not (N, C)."""

    def forward(self, coords):
        return coords.sum(dim=1)


#: (id, call with the signal, a fragment of the one message)
MISUSES = [
    (
        "misspelt-beside-a-budget",
        lambda s: fit(s, "nint", iteration=100, seconds=5),
        "unknown option 'iteration' for fit with strategy 'nint' (did you mean 'iterations'?)",
    ),
    (
        "misspelt-budget-alone",
        lambda s: fit(s, iteratons=3),
        "unknown option 'iteratons' for fit with strategy 'nint' (did you mean 'iterations'?)",
    ),
    (
        "misspelt-argument",
        lambda s: fit(s, "uniform", iterations=1, callbak=print),
        "(did you mean 'callback'?)",
    ),
    (
        "misspelt-strategy-option",
        lambda s: fit(s, "nint", iterations=1, ration=0.5),
        "unknown option 'ration' for fit with strategy 'nint' (did you mean 'ratio'?)",
    ),
    (
        "another-strategys-option",
        lambda s: fit(s, "nint", iterations=1, langevin_step=0.1),
        "strategy 'nint' does not take 'langevin_step' (it is an option of 'soft')",
    ),
    (
        "nothing-like-it",
        lambda s: fit(s, "uniform", iterations=1, zzz=1),
        "unknown option 'zzz' for fit with strategy 'uniform' (fit takes the fields of",
    ),
    ("signal-none", lambda s: fit(None, iterations=1), "fit needs a nint.Signal, got None"),
    (
        "signal-path",
        lambda s: fit("photo.png", iterations=1),
        "got the path 'photo.png'; load the file first: nint.load_signal('photo.png')",
    ),
    (
        "signal-array",
        lambda s: fit(np.zeros((8, 8, 3)), iterations=1),
        "got a ndarray of shape (8, 8, 3); wrap it first: nint.ImageSignal(array)",
    ),
    (
        "iterations-fraction",
        lambda s: fit(s, iterations=2.5),
        "the iteration budget must be an integer, got 2.5",
    ),
    (
        "iterations-bool",
        lambda s: fit(s, iterations=True),
        "the iteration budget must be an integer, got True",
    ),
    (
        "seconds-bool",
        lambda s: fit(s, seconds=True),
        "the time budget must be positive finite seconds, got True",
    ),
    ("lr-bool", lambda s: fit(s, iterations=1, lr=True), "the learning rate must be"),
    (
        "width-fraction",
        lambda s: fit(s, iterations=1, width=8.5),
        "width must be an integer, got 8.5",
    ),
    (
        "eval-every-bool",
        lambda s: fit(s, iterations=1, eval_every=True),
        "the evaluation cadence in iterations must be an integer, got True",
    ),
    (
        "progress-not-bool",
        lambda s: fit(s, iterations=1, progress=1),
        "progress must be True or False, got 1",
    ),
    (
        "settings-not-settings",
        lambda s: fit(s, settings={"iterations": 1}),
        "settings must be a nint.FitSettings, got a dict",
    ),
    (
        "strategy-class",
        lambda s: fit(s, nint.SAMPLERS["uniform"], iterations=1),
        "strategy is the class UniformSampler; pass its name 'uniform'",
    ),
    (
        "sampler-with-options",
        lambda s: fit(s, make_sampler("nint", s.n_points), iterations=1, ratio=0.3),
        "option 'ratio' would be ignored: a Sampler instance carries its own options; pass the "
        "strategy's name ('nint') instead, or configure the sampler",
    ),
    (
        "model-too-many-outputs",
        lambda s: fit(s, "uniform", iterations=1, model=nn.Linear(2, 4)),
        "model Linear maps 2-D coordinates to 4 outputs; the image signal has 3 channels",
    ),
    (
        "model-fails",
        lambda s: fit(s, "uniform", iterations=1, model=nn.Linear(3, 3)),
        "model Linear fails on the signal's coordinates (2-D, float32): RuntimeError: mat1",
    ),
    (
        "model-not-2d",
        lambda s: fit(s, "uniform", iterations=1, model=Flat()),
        "model Flat maps (2, 2) coordinates to shape (2,); fit needs one row of outputs per "
        "coordinate: (2, 3)",
    ),
    (
        "model-class",
        lambda s: fit(s, "uniform", iterations=1, model=Siren),
        "model must be a torch.nn.Module instance, got the class Siren",
    ),
    (
        "model-with-siren-settings",
        lambda s: fit(s, "uniform", iterations=1, model=nn.Linear(2, 3), width=8),
        "width describes the backbone nint builds and would be ignored with a model of your own",
    ),
    (
        "model-name-with-module-settings",
        lambda s: fit(
            s,
            "uniform",
            settings=FitSettings(iterations=1, model="wire"),
            model=nn.Linear(2, 3),
        ),
        "model describes the backbone nint builds and would be ignored",
    ),
    (
        "unknown-backbone",
        lambda s: fit(s, "uniform", iterations=1, model="sirne"),
        "unknown model 'sirne'; choose from siren, finer, wire",
    ),
    (
        "option-of-another-backbone",
        lambda s: fit(s, "uniform", iterations=1, wire_scale=5.0),
        "model 'siren' does not take 'wire_scale' (it is an option of 'wire')",
    ),
    (
        "backbone-option-out-of-range",
        lambda s: fit(s, "uniform", iterations=1, model="gauss", gauss_scale=-1.0),
        "gauss_scale must be a finite number",
    ),
    (
        "compile-another-backbone",
        lambda s: fit(s, "uniform", iterations=1, model="finer", compile=True),
        "compile=True compiles a SIREN; model 'finer' is not one",
    ),
    (
        "model-name-twice",
        lambda s: fit(s, "uniform", model="wire", settings=FitSettings(iterations=1)),
        "give model in settings or as options, not both",
    ),
    (
        "callback-not-callable",
        lambda s: fit(s, "uniform", iterations=1, callback=3, **TINY),
        "callback must be a function of a history row, got an int",
    ),
    (
        "callback-two-arguments",
        lambda s: fit(s, "uniform", iterations=1, callback=lambda row, result: None, **TINY),
        "must take one argument (the history row), its signature is (row, result)",
    ),
    (
        "optimizer-with-lr",
        lambda s: fit(s, "uniform", iterations=1, lr=1e-3, optimizer=sgd(0.1), **TINY),
        "lr would be ignored with optimizer=",
    ),
    (
        "optimizer-class",
        lambda s: fit(s, "uniform", iterations=1, optimizer=torch.optim.Adam, **TINY),
        "optimizer Adam failed on the model: TypeError",
    ),
    (
        "optimizer-instance",
        lambda s: fit(s, "uniform", iterations=1, optimizer=sgd(0.1)(nn.Linear(2, 3)), **TINY),
        "optimizer takes a function of the model, not an optimizer",
    ),
    (
        "optimizer-returns-no-optimizer",
        lambda s: fit(s, "uniform", iterations=1, optimizer=lambda m: list(m.parameters()), **TINY),
        "returned a list, not a torch.optim.Optimizer",
    ),
    (
        "optimizer-of-another-model",
        lambda s: fit(
            s, "uniform", iterations=1, optimizer=lambda m: sgd(0.1)(nn.Linear(2, 3)), **TINY
        ),
        "returned an optimizer of 2 tensor(s) that are not the model's",
    ),
]


@pytest.mark.parametrize("call, fragment", [c[1:] for c in MISUSES], ids=[c[0] for c in MISUSES])
def test_each_misuse_is_one_error_before_training(signal, call, fragment, monkeypatch):
    def no_training(run):
        raise AssertionError("the fit started training")

    monkeypatch.setattr(nint.train, "_loop", no_training)
    with pytest.raises(NintError, match=re.escape(fragment)) as caught:
        call(signal)
    assert "\n" not in str(caught.value)


def test_whole_and_numpy_integers_are_taken_as_ints(signal):
    settings = FitSettings(iterations=np.int64(2), eval_every=np.int32(1))
    assert type(settings.iterations) is int and type(settings.eval_every) is int
    result = fit(signal, "uniform", settings=settings)
    assert json.loads(json.dumps(result.config))["budget"]["iterations"] == 2


# ---- the callback -------------------------------------------------------------------------


def test_the_callback_sees_every_history_row(signal, tmp_path):
    rows = []
    # 5 iterations evaluated every 2: rows 0, 2, 4 and the final 5
    result = fit(signal, "uniform", iterations=5, eval_every=2, callback=rows.append, **TINY)
    assert [row["iteration"] for row in rows] == [0, 2, 4, 5]
    assert rows == result.history
    rows[1]["psnr"] = -1.0  # the callback's row is a copy
    assert result.history[1]["psnr"] != -1.0
    config = json.loads((result.save(tmp_path / "run") / "config.json").read_text())
    assert config["callback"] == "list.append"
    assert fit(signal, "uniform", iterations=1, **TINY).config["callback"] is None


def test_a_callback_returning_true_stops_the_fit(signal):
    def stop_at_three(row):
        return row["iteration"] >= 3

    result = fit(signal, "uniform", iterations=50, eval_every=1, callback=stop_at_three, **TINY)
    assert result.summary["iterations"] == 3
    assert [row["iteration"] for row in result.history] == [0, 1, 2, 3]
    assert result.config["callback"].endswith("stop_at_three")


def test_only_true_stops_and_iteration_zero_cannot(signal):
    # a callback that returns what its logger returned (here a non-empty dict) does not stop
    logged = fit(signal, "uniform", iterations=4, eval_every=1, callback=lambda row: row, **TINY)
    assert logged.summary["iterations"] == 4
    # True from the first row (before training) is not an instruction to train nothing
    first = fit(signal, "uniform", iterations=4, eval_every=1, callback=lambda r: True, **TINY)
    assert first.summary["iterations"] == 1


# ---- the optimizer factory ----------------------------------------------------------------


def test_an_optimizer_factory_is_used_and_recorded(signal, tmp_path):
    model = Siren(2, 3, 8, 2)
    before = [p.detach().clone() for p in model.parameters()]
    received = []

    def frozen(m):
        received.append(m)
        return torch.optim.SGD(m.parameters(), lr=0.0)

    result = fit(signal, "uniform", iterations=3, model=model, optimizer=frozen)
    assert received == [model]
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    config = json.loads((result.save(tmp_path / "run") / "config.json").read_text())
    assert config["optimizer"] == "SGD" and config["lr"] is None
    assert config["optimizer_param_groups"][0]["lr"] == 0.0


def test_parameter_groups_train_with_their_own_rates(signal):
    model = Siren(2, 3, 8, 2)
    first = list(model.net[0].parameters())
    rest = [p for p in model.parameters() if all(p is not q for q in first)]
    before = [p.detach().clone() for p in model.parameters()]

    def groups(m):
        return torch.optim.Adam([{"params": first, "lr": 0.0}, {"params": rest, "lr": 1e-2}])

    result = fit(signal, "uniform", iterations=3, model=model, optimizer=groups)
    changed = [not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True)]
    assert changed == [False] * len(first) + [True] * len(rest)
    rates = [group["lr"] for group in result.config["optimizer_param_groups"]]
    assert rates == [0.0, 1e-2]


def test_the_default_optimizer_is_recorded_as_adam(signal):
    config = fit(signal, "uniform", iterations=1, lr=2e-3, **TINY).config
    assert config["optimizer"] == "Adam" and config["lr"] == 2e-3
    assert config["optimizer_param_groups"][0]["lr"] == 2e-3
    assert config["optimizer_param_groups"][0]["betas"] == [0.9, 0.999]


def test_a_diverging_custom_optimizer_names_its_own_rate(signal):
    with pytest.raises(NintError, match="lower learning rate than 1e"):
        fit(signal, "uniform", iterations=30, optimizer=sgd(1e30), **TINY)


# ---- the model probe ----------------------------------------------------------------------


class Noisy(nn.Module):
    """A model whose forward draws from the global RNG (noise always, dropout in training) and
    updates batch-norm statistics in training."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2, 16), nn.BatchNorm1d(16), nn.Dropout(0.5), nn.Linear(16, 3)
        )

    def forward(self, coords):
        return self.net(coords + 1e-2 * torch.randn_like(coords))


def test_the_probe_changes_nothing_the_fit_computes(signal, monkeypatch):
    """The probe runs a caller's model once before training: a model drawing from the global
    RNG and keeping batch-norm statistics trains exactly as it would without the probe, and is
    left in training mode."""

    def trained(probe: bool) -> list[torch.Tensor]:
        torch.manual_seed(0)
        model = Noisy()
        if not probe:
            monkeypatch.setattr(nint.train, "probe_model", lambda *args: None)
        fit(signal, "uniform", iterations=3, model=model, lr=1e-2)
        monkeypatch.undo()
        assert all(m.training for m in model.modules())
        return [t.detach().clone() for t in [*model.parameters(), *model.buffers()]]

    with_probe, without = trained(True), trained(False)
    assert all(torch.equal(a, b) for a, b in zip(with_probe, without, strict=True))
