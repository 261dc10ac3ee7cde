"""The opt-in fast selection of INT and NINT (``selection="fast"``, nint.fast_selection)."""

import math

import pytest
import torch
from conftest import synthetic_image
from test_sdf_signal import sphere_mesh

from nint import fast_selection as fs
from nint import fit
from nint.cli import main
from nint.errors import NintError
from nint.models import Siren, predict, scorer_copy
from nint.ntk import error_scores, kernel_residual_product
from nint.residuals import StepFeedback
from nint.samplers import SAMPLERS, SelectionContext, make_sampler
from nint.signals.image import ImageSignal, grid_coords
from nint.signals.sdf import SdfSignal

SMALL = dict(width=32, depth=2, seed=3, device="cpu", eval_every=100, progress=False)


@pytest.fixture(scope="module")
def signal():
    return ImageSignal(synthetic_image(20, 20))


class Recording:
    """Mixin: keep a copy of every selection's indices."""

    def select(self, step, ctx):
        idx = super().select(step, ctx)
        self.chosen.append(idx.clone())
        return idx


def recording(name, n, **options):
    cls = type(f"Recording{name}", (Recording, SAMPLERS[name]), {})
    sampler = cls(n, **options)
    sampler.chosen = []
    return sampler


def fitted_selections(signal, name, iterations=12, **options):
    sampler = recording(name, signal.n_points, seed=3, **options)
    result = fit(signal, sampler, iterations=iterations, **SMALL)
    return sampler.chosen, result


def test_fast_with_a_full_pass_every_selection_is_exact_nint(signal):
    """float32, refresh_every=1 and the paper's cut-off: every part is computed as in the exact
    path, so the selections match it index for index (the plumbing adds nothing)."""
    exact, _ = fitted_selections(signal, "nint", xi=0.5, alpha=2)
    fast, result = fitted_selections(
        signal, "nint", xi=0.5, alpha=2, selection="fast", precision="float32",
        refresh_every=1, ntk_cutoff=1e-3,
    )  # fmt: skip
    assert all(torch.equal(a, b) for a, b in zip(exact, fast, strict=True))
    assert result.sampler.fast.full_passes == 12 and result.sampler.fast.candidate_passes == 0


def test_int_fast_with_every_coordinate_a_candidate_is_exact_int(signal):
    """With c k >= N the candidates are all coordinates, re-measured at the current weights:
    the exact top-k, though only one selection in refresh_every runs the full pass."""
    exact, _ = fitted_selections(signal, "int", ratio=0.25)
    fast, result = fitted_selections(
        signal, "int", ratio=0.25, selection="fast", precision="float32", candidates=4.0
    )
    assert all(torch.equal(a, b) for a, b in zip(exact, fast, strict=True))
    assert result.sampler.fast.full_passes == 1 and result.sampler.fast.candidate_passes == 11


def test_candidates_are_the_largest_estimates_rescored_at_the_current_weights():
    torch.manual_seed(0)
    coords = grid_coords(12, 12)
    targets = torch.rand(144, 3)
    model = Siren(2, 3, width=16, depth=2)
    sampler = make_sampler("int", 144, ratio=0.1, selection="fast", precision="float32",
                           candidates=2.5)  # fmt: skip
    first = sampler.select(0, SelectionContext(model, coords, targets, 0.0, source=sampler.fast))
    exact_then = error_scores(predict(model, coords) - targets, "l1")
    assert torch.equal(first, torch.topk(exact_then, 14).indices)  # the first pass is full
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    second = sampler.select(1, SelectionContext(model, coords, targets, 0.1, source=sampler.fast))
    pool = torch.topk(exact_then, math.ceil(2.5 * 14)).indices  # by the old errors
    now = error_scores(predict(model, coords[pool]) - targets[pool], "l1")
    assert torch.equal(second, pool[torch.topk(now, 14).indices])  # by the new ones
    assert torch.allclose(sampler.fast.estimate[pool], now)
    # the exact top-k at the new weights is not what the fast mode chose here
    exact_now = torch.topk(error_scores(predict(model, coords) - targets, "l1"), 14).indices
    assert fs.selection_overlap(second, exact_now) < 1.0


def test_full_passes_every_refresh_every_selections(signal):
    _, result = fitted_selections(
        signal, "int", iterations=9, selection="fast", refresh_every=4, precision="float32"
    )
    assert result.sampler.fast.full_passes == 3  # selections 0, 4 and 8
    assert result.summary["time_parts"]["residual"] > 0
    assert any("fast selection (int" in note for note in result.summary["notes"])


def test_nint_fast_counts_cutoff_and_patches_from_the_uniform_part(signal):
    sampler = recording("nint", signal.n_points, seed=3, selection="fast", precision="float32")
    assert sampler.ntk_cutoff == fs.FAST_NTK_CUTOFF
    assert make_sampler("nint", 400).ntk_cutoff == 1e-3
    fit(signal, sampler, iterations=4, **SMALL)
    counts = sampler.last_counts
    assert sum(counts) == 80 and counts[2] == round(0.7 * 80)
    # after the last step the uniform rows hold their training errors (before that update)
    estimate = sampler.fast.estimate.clone()
    rows = sampler.parts["random"]
    indices = sampler.last_indices
    errors = torch.zeros(indices.numel(), 3)
    errors[-rows.numel() :] = 2.0  # the uniform part is the last n_random rows of a selection
    sampler.fast.observe(StepFeedback(indices, errors, parts=sampler.parts))
    assert torch.allclose(sampler.fast.estimate[rows], torch.full((rows.numel(),), 12.0**0.5))
    others = torch.ones(400, dtype=torch.bool)
    others[rows] = False
    assert torch.equal(sampler.fast.estimate[others], estimate[others])


def test_the_training_errors_of_the_uniform_rows_reach_the_estimate(signal, monkeypatch):
    seen = []
    observe = fs.FastResiduals.observe

    def patched_rows(self, feedback):  # which estimates each step's feedback overwrote
        before = self.estimate.clone()
        observe(self, feedback)
        seen.append((self.estimate != before).nonzero().squeeze(1))

    monkeypatch.setattr(fs.FastResiduals, "observe", patched_rows)
    sampler = recording("nint", signal.n_points, seed=3, selection="fast", precision="float32")
    fit(signal, sampler, iterations=3, **SMALL)
    assert len(seen) == 3 and seen[-1].numel() > 0
    assert set(seen[-1].tolist()) <= set(sampler.parts["random"].tolist())


def test_bfloat16_passes_are_close_to_float32_and_charged():
    torch.manual_seed(0)
    coords = grid_coords(16, 16)
    targets = torch.rand(256, 3)
    model = Siren(2, 3, width=32, depth=2)
    fast = fs.FastResiduals(3.0, 20, "bfloat16")
    ctx = SelectionContext(model, coords, targets, 0.0, source=fast)
    scorer = fast.scorer(ctx)
    # the SIREN's first layer stays float32 and takes the float32 coordinates
    assert scorer.inputs is coords and scorer.model.first.linear.weight.dtype == torch.float32
    assert scorer.model.rest[0].linear.weight.dtype == torch.bfloat16
    exact = predict(model, coords) - targets
    reduced = ctx.residual()
    assert reduced.dtype == torch.float32 and not torch.equal(reduced, exact)
    assert torch.allclose(reduced, exact, atol=0.05)
    rows = torch.tensor([3, 50, 7])
    assert torch.allclose(fast.rows_residual(ctx, rows), exact[rows], atol=0.05)
    w = kernel_residual_product(model, coords, reduced)
    w16 = ctx.kernel_residual()
    assert w16.dtype == torch.float32
    assert (w16 - w).norm() / w.norm() < 0.05
    assert ctx.timer.totals["residual"] > 0 and ctx.timer.totals["ntk"] > 0
    copy = fs.ReducedCopy(torch.bfloat16)
    scorer = copy.scorer(model, coords)
    # the float32 weights are untouched by the copy, and a later selection refreshes the copy
    assert all(p.dtype == torch.float32 for p in model.parameters())
    with torch.no_grad():
        model.net[-1].weight.add_(1.0)
    again = copy.scorer(model, coords)
    assert again.model is scorer.model
    assert torch.equal(again.model.rest[-1].weight, model.net[-1].weight.to(torch.bfloat16))


class NetThenAffine(torch.nn.Module):
    """A SIREN-like ``net`` followed by forward code of its own: a model whose layers a
    reduced-precision copy could only guess (the guess scored it up to 0.9 off)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = Siren(2, 3, width=16, depth=2).net
        self.scale = torch.nn.Parameter(torch.tensor(3.0))

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.scale * self.net(coords) + 0.5


def test_a_model_that_offers_no_reduced_copy_is_scored_in_float32_by_its_own_forward():
    torch.manual_seed(0)
    coords = grid_coords(8, 8)
    targets = torch.rand(64, 3)
    model = NetThenAffine()
    assert scorer_copy(model, torch.bfloat16) is None
    assert scorer_copy(Siren(2, 3), torch.bfloat16) is not None
    fast = fs.FastResiduals(3.0, 20, "bfloat16")
    ctx = SelectionContext(model, coords, targets, 0.0, source=fast)
    assert fast.scorer(ctx) is None and fast.dtype == torch.float32  # what ran, for the note
    exact = predict(model, coords) - targets
    assert torch.equal(ctx.residual(), exact)
    with torch.no_grad():
        assert torch.equal(exact, model(coords) - targets)


def test_fast_nint_fits_a_model_with_its_own_forward_code(signal):
    torch.manual_seed(0)
    result = fit(
        signal, "nint", model=NetThenAffine(), iterations=3, selection="fast",
        precision="bfloat16", **{k: v for k, v in SMALL.items() if k not in ("width", "depth")},
    )  # fmt: skip
    assert result.summary["iterations"] == 3


def test_fast_is_deterministic_for_a_seed(signal):
    first, _ = fitted_selections(signal, "nint", selection="fast", precision="bfloat16")
    second, _ = fitted_selections(signal, "nint", selection="fast", precision="bfloat16")
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))


def test_precision_auto_follows_the_cpu(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(fs, "_cpu_flags", lambda: frozenset({"avx512f", "avx512_bf16"}))
    assert fs.resolve_precision("auto", cpu) == torch.bfloat16
    monkeypatch.setattr(fs, "_cpu_flags", lambda: frozenset({"avx2"}))
    assert fs.resolve_precision("auto", cpu) == torch.float32
    assert fs.resolve_precision("bfloat16", cpu) == torch.bfloat16


def test_fresh_points_run_the_full_pass_at_every_selection():
    vertices, faces = sphere_mesh(radius=0.7, subdivisions=2)
    mesh = SdfSignal(vertices, faces, points_per_iteration=600, pool_size=0, grid_resolution=12)
    for name in ("int", "nint"):
        result = fit(mesh, name, iterations=4, selection="fast", precision="float32", **SMALL)
        assert result.sampler.fast.full_passes == 4 and result.sampler.fast.candidate_passes == 0


@pytest.mark.parametrize(
    "options, message",
    [
        ({"candidates": 2.0}, "applies only to selection='fast'"),
        ({"selection": "fast", "variant": "official"}, "builds on the paper variant"),
        ({"selection": "fast", "candidates": 0.5}, "candidates"),
        ({"selection": "fast", "candidates": math.nan}, "candidates"),
        ({"selection": "fast", "refresh_every": 0}, "refresh_every"),
        ({"selection": "fast", "precision": "fp8"}, "unknown precision"),
        ({"selection": "quick"}, "unknown selection"),
    ],
)
def test_bad_fast_options_are_refused(options, message):
    with pytest.raises(NintError, match=message):
        make_sampler("nint", 100, **options)


def test_fast_and_residual_every_do_not_combine(signal):
    with pytest.raises(NintError, match="pick one"):
        fit(signal, "int", iterations=2, selection="fast", residual_every=2, **SMALL)
    assert not make_sampler("nint", 100, selection="fast").shardable
    assert make_sampler("nint", 100).shardable


def test_command_line_fast_and_bad_candidates(tmp_path, capsys):
    from PIL import Image

    picture = tmp_path / "pic.png"
    Image.fromarray((synthetic_image(16, 16) * 255).astype("uint8")).save(picture)
    out = tmp_path / "run"
    common = ["--iterations", "3", "--width", "16", "--depth", "2", "--quiet"]
    argv = ["fit", str(picture), "--strategy", "nint", "--selection", "fast", *common]
    assert main([*argv, "--out", str(out)]) == 0
    assert '"selection": "fast"' in (out / "config.json").read_text()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--candidates", "0.5", "--out", str(tmp_path / "bad")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--candidates" in err[0] and not (tmp_path / "bad").exists()


def test_selection_overlap():
    assert fs.selection_overlap(torch.tensor([1, 2, 3]), torch.tensor([3, 4])) == 0.5
    assert fs.selection_overlap(torch.tensor([1]), torch.tensor([], dtype=torch.long)) == 1.0


def test_a_context_on_another_source_is_refused():
    """The fast options must not be dropped silently by a context built on the exact source."""
    sampler = make_sampler("int", 64, selection="fast")
    ctx = SelectionContext(Siren(2, 3, width=8, depth=1), grid_coords(8, 8), torch.rand(64, 3), 0.0)
    with pytest.raises(NintError, match="its own residual source"):
        sampler.select(0, ctx)
