"""The backbone registry and the model contract: every shipped backbone against an explicit
Jacobian, under every strategy, through a checkpoint and a render, from the command line."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import synthetic_image
from PIL import Image
from torch import nn
from torch.func import functional_call, jacrev

import nint.models.registry as registry
import nint.ntk
from nint import ImageSignal, NintError, fit, kernel_residual_product, load_run
from nint.cli import build_parser, main
from nint.models import (
    BACKBONES,
    Backbone,
    Siren,
    build_model,
    model_config,
    register,
    scorer_copy,
)
from nint.options import Option
from nint.render import render_run
from nint.samplers import SAMPLERS

#: small versions of every shipped backbone, for fast tests (the defaults are image-sized)
SMALL = {
    "siren": {"width": 8, "depth": 2},
    "finer": {"width": 8, "depth": 2, "first_bias_scale": 2.0},
    "wire": {"width": 6, "depth": 2},
    "gauss": {"width": 8, "depth": 2},
    "fourier": {"width": 8, "depth": 1, "fourier_features": 6},
    "hashgrid": {
        "width": 8,
        "depth": 1,
        "hash_levels": 3,
        "hash_log2_size": 6,
        "hash_min_res": 2,
        "hash_max_res": 8,
    },
}


def test_every_shipped_backbone_has_small_settings_here():
    assert set(SMALL) == set(BACKBONES)


@pytest.fixture(scope="module")
def image():
    return ImageSignal(synthetic_image(8, 8), name="tiny")


# ---- K r against an explicit Jacobian -----------------------------------------------------


def explicit_kr(model: nn.Module, x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """J J^T r with J the (N C, P) Jacobian of the flattened outputs, built in full."""
    params = {k: p.detach() for k, p in model.named_parameters()}
    buffers = dict(model.named_buffers())
    jac = jacrev(lambda p: functional_call(model, (p, buffers), (x,)))(params)
    j = torch.cat([jac[k].reshape(x.shape[0] * r.shape[1], -1) for k in params], dim=1)
    return (j @ (j.t() @ r.reshape(-1))).reshape(r.shape)


class GridSampled(nn.Module):
    """A dense 2-D feature grid read by ``F.grid_sample`` (no forward-mode AD), then a linear
    layer: the NTK product must fall back to double backward."""

    def __init__(self) -> None:
        super().__init__()
        self.grid = nn.Parameter(torch.randn(1, 4, 5, 5))
        self.head = nn.Linear(4, 3)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        g = coords.reshape(1, -1, 1, 2).to(self.grid.dtype)
        features = nn.functional.grid_sample(self.grid, g, align_corners=True)  # (1, 4, N, 1)
        return self.head(features[0, :, :, 0].t())


def _kr_cases():
    cases = [(name, 2, lambda n=name: build_model(n, 2, 3, seed=1, **SMALL[n])) for name in SMALL]
    # the hash grid for 1-D and 3-D inputs, with a table small enough that 3-D levels hash
    for d in (1, 3):
        cases.append(
            (f"hashgrid-{d}d", d, lambda d=d: build_model("hashgrid", d, 3, 1, **SMALL["hashgrid"]))
        )
    user = lambda: nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3))  # noqa: E731
    cases.append(("user-module", 2, user))
    cases.append(("grid-sample", 2, GridSampled))
    return cases


@pytest.mark.parametrize("name, dims, make", _kr_cases(), ids=[c[0] for c in _kr_cases()])
def test_kernel_residual_product_matches_explicit_jacobian(name, dims, make, monkeypatch):
    fallbacks = []
    double_backward = nint.ntk._double_backward_jvp
    monkeypatch.setattr(
        nint.ntk, "_double_backward_jvp", lambda *a: fallbacks.append(1) or double_backward(*a)
    )
    torch.manual_seed(0)
    model = make().double()
    x = torch.rand(7, dims, dtype=torch.float64) * 2 - 1
    r = torch.randn(7, 3, dtype=torch.float64)
    want = explicit_kr(model, x, r)
    assert want.abs().max() > 0
    for chunk in (None, 3):  # chunking changes the memory, never the result
        got = kernel_residual_product(model, x, r, chunk_size=chunk)
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9 * float(want.abs().max()))
    # grid_sample has no forward-mode AD; the hash grid's gathers do
    assert bool(fallbacks) == (name == "grid-sample")


# ---- every strategy x every backbone ------------------------------------------------------


@pytest.mark.parametrize("backbone", list(SMALL))
@pytest.mark.parametrize("strategy", [*SAMPLERS, "nint-fast"])
def test_every_strategy_fits_every_backbone(image, backbone, strategy):
    extra = {"selection": "fast"} if strategy == "nint-fast" else {}
    strategy = strategy.removesuffix("-fast")
    result = fit(
        image, strategy, model=backbone, iterations=2, eval_every=1, seed=3, device="cpu",
        **SMALL[backbone], **extra,
    )  # fmt: skip
    assert [row["iteration"] for row in result.history] == [0, 1, 2]
    assert all(math.isfinite(row["loss"]) for row in result.history[1:])
    assert all(math.isfinite(row["psnr"]) for row in result.history)
    assert result.config["model"]["name"] == backbone
    assert result.config["lr"] == BACKBONES[backbone].default_lr


# ---- the contract ---------------------------------------------------------------------------


@pytest.mark.parametrize("backbone", list(SMALL))
def test_seeded_initialisation_is_reproducible(backbone):
    state = torch.random.get_rng_state()
    one = build_model(backbone, 2, 3, seed=4, **SMALL[backbone]).state_dict()
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG is left alone
    two = build_model(backbone, 2, 3, seed=4, **SMALL[backbone]).state_dict()
    other = build_model(backbone, 2, 3, seed=5, **SMALL[backbone]).state_dict()
    assert list(one) == list(two)
    assert all(torch.equal(one[k], two[k]) for k in one)
    assert any(not torch.equal(one[k], other[k]) for k in one)


@pytest.mark.parametrize("backbone", list(SMALL))
def test_declared_config_rebuilds_the_backbone(backbone):
    model = build_model(backbone, 2, 3, seed=2, **SMALL[backbone])
    config = model_config(model)
    json.dumps(config)  # config.json can hold it
    assert config["name"] == backbone and config["in_features"] == 2
    again = build_model(**config, seed=2)
    assert model_config(again) == config
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True)
    )
    # every trainable tensor real: the NTK product, Adam and safetensors see no complex numbers
    assert all(not p.is_complex() for p in model.parameters())
    x = torch.rand(5, 2) * 2 - 1
    assert model(x).shape == (5, 3) and model(x).dtype == torch.float32


def test_default_siren_is_built_as_before_the_registry():
    torch.manual_seed(7)
    before = Siren(2, 3, 16, 3, 30.0, 30.0)
    after = build_model("siren", 2, 3, seed=7, width=16, depth=3, first_omega_0=30.0)
    for a, b in zip(before.state_dict().values(), after.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_scorer_copy_and_model_config_read_declarations_only():
    siren = build_model("siren", 2, 3, seed=0, **SMALL["siren"])
    copy = scorer_copy(siren, torch.bfloat16)
    assert copy is not None and copy(torch.rand(4, 2)).dtype == torch.bfloat16
    assert len(list(copy.parameters())) == len(list(siren.parameters()))
    for name in ("finer", "wire", "gauss", "fourier", "hashgrid"):
        assert scorer_copy(build_model(name, 2, 3, seed=0, **SMALL[name]), torch.bfloat16) is None

    class Pretender(nn.Linear):  # a user module with the method's name is not a declaration
        def reduced_precision_copy(self, dtype):
            raise AssertionError("inspected")

    assert scorer_copy(Pretender(2, 3), torch.bfloat16) is None
    config = model_config(nn.Linear(2, 3))
    assert config["class"] == "Linear" and "rebuild_refused" in config


# ---- registration ------------------------------------------------------------------------------


def _backbone(name: str, *options: Option) -> type[Backbone]:
    """A small backbone class whose ``__init__`` takes exactly ``options`` (default 1.0)."""
    params = ", ".join(f"{o.name}=1.0" for o in options)
    namespace: dict = {}
    exec(  # noqa: S102 - builds a signature from test data, nothing external
        f"def __init__(self, in_features, out_features{', ' if params else ''}{params}):\n"
        f"    nn.Module.__init__(self)\n"
        f"    self.net = nn.Linear(in_features, out_features)\n"
        f"    self.hparams = dict(in_features=in_features, out_features=out_features)\n",
        {"nn": nn},
        namespace,
    )
    attributes = {
        "name": name, "display_name": name.title(), "options": options,
        "__init__": namespace["__init__"], "forward": lambda self, x: self.net(x),
    }  # fmt: skip
    return type(f"B_{name}", (Backbone,), attributes)


@pytest.mark.parametrize(
    "option, fragment",
    [
        (Option("lr", "h"), "clashes with the fit setting 'lr'"),
        (Option("ratio", "h"), "clashes with an option of strategy"),
        (Option("size", "h", type=int), "clashes with an option of image files"),
        (Option("seed_offset", "h", flag="--seed"), "clashes with the fit setting 'seed'"),
        (Option("out", "h"), "clashes with nint fit's own 'out'"),
        (Option("my_omega", "h", flag="--omega0"), "clashes with option 'omega_0' of backbone"),
        (Option("width", "h"), "declared differently"),  # int in the built-ins
    ],
)
def test_registering_a_clashing_option_raises(option, fragment):
    with pytest.raises(NintError, match=fragment):
        register(_backbone("clashing", option))
    assert "clashing" not in BACKBONES


def test_registration_checks_name_and_options():
    with pytest.raises(NintError, match="already registered"):
        register(_backbone("siren"))
    cls = _backbone("mismatch", Option("mine", "h"))
    cls.options = ()
    with pytest.raises(NintError, match=r"declares options \[\] but takes \['mine'\]"):
        register(cls)


def test_a_registered_user_backbone_fits_and_reloads(image, tmp_path):
    register(_backbone("tiny_user", Option("tiny_gain", "h")))
    try:
        result = fit(image, "uniform", model="tiny_user", tiny_gain=2.0, iterations=2)
        assert result.config["model"]["name"] == "tiny_user"
        model, _ = load_run(result.save(tmp_path / "run"))
        assert type(model).__name__ == "B_tiny_user"
    finally:
        del BACKBONES["tiny_user"]


def test_fit_parser_names_are_known_to_the_registry():
    """Every flag of ``nint fit`` is a setting, a strategy, loader or backbone option, or one of
    ``registry.COMMAND_NAMES``: so a new backbone option that takes one is refused."""
    fit_parser = next(
        a for a in build_parser()._actions if a.__class__.__name__ == "_SubParsersAction"
    ).choices["fit"]
    taken = registry._taken()
    flags = {o.cli_flag for o in registry.model_option_names().values()}
    for action in fit_parser._actions:
        for flag in action.option_strings:
            if flag.startswith("--"):
                assert flag in taken or flag in flags, flag


# ---- checkpoints, renders and the command line -------------------------------------------


@pytest.mark.parametrize("backbone", list(SMALL))
def test_checkpoint_round_trips_and_renders_larger(image, backbone, tmp_path):
    result = fit(image, "uniform", model=backbone, iterations=2, **SMALL[backbone])
    folder = result.save(tmp_path / "run")
    model, config = load_run(folder)
    assert config["model"]["name"] == backbone
    with torch.no_grad():
        assert torch.equal(model(image.coords), result.model.cpu()(image.coords))
    out = render_run(folder, tmp_path / "big.png", size="16")
    assert Image.open(out).size == (16, 16)


def test_a_user_module_run_is_refused_by_render(image, tmp_path):
    net = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3))
    folder = fit(image, "uniform", model=net, iterations=1).save(tmp_path / "run")
    assert json.loads((folder / "config.json").read_text())["model"]["rebuild_refused"]
    with pytest.raises(NintError, match=r"model of the user's own \(Sequential\)") as caught:
        render_run(folder, tmp_path / "x.png")
    assert len(str(caught.value).splitlines()) == 1


@pytest.fixture(scope="module")
def png(tmp_path_factory):
    path = tmp_path_factory.mktemp("img") / "img.png"
    Image.fromarray((synthetic_image(8, 8) * 255).astype(np.uint8)).save(path)
    return path


def test_cli_fits_and_replays_a_wire(png, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["fit", str(png), "--model", "wire", "--width", "6", "--wire-scale", "5"]
    assert main([*argv, "--iterations", "2", "--quiet", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["name"] == "wire" and config["model"]["wire_scale"] == 5
    assert config["replay"]["model"] == "wire" and config["lr"] == 1e-3
    again = tmp_path / "again"
    assert main(["fit", "--config", str(out / "config.json"), "--out", str(again)]) == 0
    first, second = load_run(out)[0], load_run(again)[0]
    assert all(
        torch.equal(a, b)
        for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True)
    )


def test_cli_refuses_a_foreign_model_option_in_one_line(png, tmp_path, capsys):
    argv = ["fit", str(png), "--model", "gauss", "--wire-scale", "3", "--out", str(tmp_path / "r")]
    assert main([*argv, "--iterations", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "nint: error: --wire-scale does not apply to --model gauss"
    assert not (tmp_path / "r").exists()


def test_the_docs_backbone_example_runs_as_written(image):
    doc = Path(__file__).resolve().parents[1] / "docs" / "models.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    example = next(b for b in blocks if "class Sinc" in b)
    try:
        exec(compile(example, str(doc), "exec"), {})
        result = fit(image, "nint", model="sinc", sinc_scale=3.0, width=8, iterations=3)
        assert result.config["model"] == {
            "name": "sinc", "class": "Sinc", "in_features": 2, "out_features": 3, "width": 8,
            "sinc_scale": 3.0,
        }  # fmt: skip
        assert result.config["lr"] == 1e-3
    finally:
        BACKBONES.pop("sinc", None)
