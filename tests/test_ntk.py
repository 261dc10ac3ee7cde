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
