import pytest
import torch
from torch.func import functional_call, jacrev

from nint import Siren, error_scores, kernel_residual_product, ntk_scores


def explicit_kernel_residual(model, coords, residual):
    """J J^T r with the full Jacobian of all N*C outputs (brute force reference)."""
    params = {k: p.detach() for k, p in model.named_parameters()}

    def flat(p):
        return functional_call(model, p, (coords,)).reshape(-1)

    jac = jacrev(flat)(params)
    J = torch.cat([j.reshape(j.shape[0], -1) for j in jac.values()], dim=1)  # (N*C, P)
    return (J @ (J.T @ residual.reshape(-1))).reshape(residual.shape)


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("chunk_size", [None, 7, 64])
def test_matches_explicit_jacobian(channels, chunk_size):
    torch.manual_seed(channels)
    model = Siren(2, channels, width=12, depth=3).double()
    coords = torch.rand(41, 2, dtype=torch.float64) * 2 - 1
    residual = torch.randn(41, channels, dtype=torch.float64)
    expected = explicit_kernel_residual(model, coords, residual)
    got = kernel_residual_product(model, coords, residual, chunk_size=chunk_size)
    assert got.shape == (41, channels)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


def test_channels_are_coupled():
    """For C > 1 the cross-channel blocks of K matter: a residual in one channel moves others."""
    torch.manual_seed(0)
    model = Siren(2, 3, width=12, depth=2).double()
    coords = torch.rand(20, 2, dtype=torch.float64)
    residual = torch.zeros(20, 3, dtype=torch.float64)
    residual[:, 0] = 1.0
    w = kernel_residual_product(model, coords, residual)
    assert w[:, 1].abs().max() > 0


def test_chunked_equals_unchunked_in_float32_and_under_no_grad():
    torch.manual_seed(1)
    model = Siren(2, 3, width=32, depth=3)
    coords = torch.rand(300, 2) * 2 - 1
    residual = torch.randn(300, 3)
    whole = kernel_residual_product(model, coords, residual)
    with torch.no_grad():
        chunked = kernel_residual_product(model, coords, residual, chunk_size=64)
    # float32 sums in another order: compare at the scale of the result
    scale = float(whole.abs().max())
    torch.testing.assert_close(chunked, whole, rtol=1e-4, atol=1e-5 * scale)
    assert not chunked.requires_grad
    assert all(p.grad is None for p in model.parameters())


def test_scores_are_row_norms():
    w = torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, -2.0]])
    torch.testing.assert_close(ntk_scores(w), torch.tensor([5.0, 2.0]))
    torch.testing.assert_close(error_scores(w, "l1"), torch.tensor([7.0, 2.0]))
    torch.testing.assert_close(error_scores(w, "l2"), torch.tensor([5.0, 2.0]))


class GridModel(torch.nn.Module):
    """A learnable 2-D feature grid read by ``F.grid_sample`` (as dense and hash-grid encodings
    do), then a linear head: an operation without forward-mode AD in PyTorch."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.grid = torch.nn.Parameter(torch.randn(1, 4, 6, 6))
        self.head = torch.nn.Linear(4, channels)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        points = coords[None, :, None, :]  # (1, N, 1, 2)
        features = torch.nn.functional.grid_sample(self.grid, points, align_corners=True)
        return self.head(features[0, :, :, 0].T)  # (N, 4) -> (N, C)


@pytest.mark.parametrize("chunk_size", [None, 9])
def test_a_model_without_forward_mode_ad_falls_back_to_double_backward(chunk_size):
    torch.manual_seed(2)
    model = GridModel(3).double()
    coords = torch.rand(30, 2, dtype=torch.float64) * 2 - 1
    residual = torch.randn(30, 3, dtype=torch.float64)
    params = {k: p.detach() for k, p in model.named_parameters()}
    with pytest.raises(NotImplementedError):  # what the fallback is for
        torch.func.jvp(lambda p: functional_call(model, p, (coords,)), (params,), (params,))
    got = kernel_residual_product(model, coords, residual, chunk_size=chunk_size)
    expected = explicit_kernel_residual(model, coords, residual)
    torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-10)


def test_nint_fits_a_grid_sample_model():
    from conftest import synthetic_image

    from nint import ImageSignal, fit

    torch.manual_seed(0)
    signal = ImageSignal(synthetic_image(10, 10), name="small")
    result = fit(signal, "nint", model=GridModel(3), iterations=3)
    assert result.summary["iterations"] == 3 and result.summary["time_parts"]["ntk"] > 0
