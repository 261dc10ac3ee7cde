"""Exact NTK-residual products without forming the kernel.

For a model f with parameters theta, outputs flattened over N coordinates and C channels, and the
Jacobian J = d f / d theta of shape (N*C, P), the empirical NTK is K = J J^T (N*C x N*C, channel
cross-terms included). NINT needs only w = K r, which is computed as

    v = J^T r   (one vector-Jacobian product, summed over coordinate chunks)
    w = J v     (one Jacobian-vector product, chunk by chunk)

Chunking changes the memory, never the result: v is a sum of per-chunk VJPs and each chunk's rows
of w depend on v alone.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, jvp, vjp


def _chunks(n: int, chunk_size: int | None) -> list[slice]:
    if chunk_size is None or chunk_size >= n:
        return [slice(0, n)]
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size}")
    return [slice(start, min(start + chunk_size, n)) for start in range(0, n, chunk_size)]


def kernel_residual_product(
    model: nn.Module,
    coords: torch.Tensor,
    residual: torch.Tensor,
    chunk_size: int | None = None,
    reduce: Callable[[list[torch.Tensor]], list[torch.Tensor]] | None = None,
) -> torch.Tensor:
    """Return w = K r, the NTK-weighted residual, exactly.

    Args:
        model: the network; its trainable parameters define J.
        coords: (N, D) model inputs.
        residual: (N, C) or (N,) residual f(x) - y; detached internally.
        chunk_size: coordinates per VJP/JVP chunk; None processes all N at once.
        reduce: applied to the list of J^T r tensors (one per parameter) before the JVP; in a
            sharded fit it sums them over the ranks, so that each rank's rows of w use the whole
            signal's J^T r (``nint.distributed``). None: this process holds every coordinate.

    Returns:
        (N, C) tensor w with w[i] = sum_j K(x_i, x_j) r_j, in the model's dtype.

    A ``CompiledSiren`` (``fit(..., compile=True)``) runs its own compiled per-chunk VJP and JVP
    (same chunks, same order of the sum over chunks; compiled float32 rounding, see
    ``nint.models.compiled``).
    """
    n = coords.shape[0]
    r = residual.detach().reshape(n, -1)
    slices = _chunks(n, chunk_size)
    # imported here, not at the top: `import nint` should not load the compile machinery
    from .models.compiled import CompiledSiren

    if isinstance(model, CompiledSiren):
        chunk_vjp, chunk_jvp = model.vjp, model.jvp
    else:
        chunk_vjp, chunk_jvp = _functional_passes(model)
    v: list[torch.Tensor] | None = None
    for sl in slices:
        g = chunk_vjp(coords[sl], r[sl])
        v = g if v is None else [a + b for a, b in zip(v, g, strict=True)]
    assert v is not None
    if reduce is not None:
        v = reduce(v)
    return torch.cat([chunk_jvp(coords[sl], v) for sl in slices], dim=0)


def _functional_passes(model: nn.Module):
    """(vjp, jvp) for one chunk of any module, by torch.func on its trainable parameters.

    vjp(x (n, D), r (n, C)) -> J^T r as a list shaped like the parameters;
    jvp(x (n, D), v) -> J v, (n, C), detached.

    The JVP is forward-mode AD where the model's operations support it. Where one does not
    (``F.grid_sample``, the core of dense and hash-grid encodings, has no forward-mode rule in
    PyTorch), it falls back, from then on for this model, to the same product through double
    backward (``_double_backward_jvp``): exact as well, about one more backward pass in cost.
    """
    names = [k for k, p in model.named_parameters() if p.requires_grad]
    params = {k: p.detach() for k, p in model.named_parameters() if p.requires_grad}
    buffers = dict(model.named_buffers())

    def forward(x: torch.Tensor):
        def f(p: dict[str, torch.Tensor]) -> torch.Tensor:
            return functional_call(model, (p, buffers), (x,)).reshape(x.shape[0], -1)

        return f

    # torch.func transforms ignore an outer no_grad for their own graph, but an explicit
    # enable_grad keeps this correct whatever mode the caller is in.
    def chunk_vjp(x: torch.Tensor, r: torch.Tensor) -> list[torch.Tensor]:
        with torch.enable_grad():
            pullback = vjp(forward(x), params)[1]  # (output, pullback)
            (g,) = pullback(r)
        return [g[k] for k in names]

    forward_mode = [True]  # False once the model turned out to lack a forward-mode rule

    def chunk_jvp(x: torch.Tensor, v: list[torch.Tensor]) -> torch.Tensor:
        if forward_mode[0]:
            try:
                with torch.enable_grad():
                    tangents = dict(zip(names, v, strict=True))
                    w = jvp(forward(x), (params,), (tangents,))[1]  # (out, J v)
                return w.detach()
            except NotImplementedError:  # an operation without forward-mode AD
                forward_mode[0] = False
        return _double_backward_jvp(forward(x), params, names, v)

    return chunk_vjp, chunk_jvp


def _double_backward_jvp(
    f: Callable[[dict[str, torch.Tensor]], torch.Tensor],
    params: dict[str, torch.Tensor],
    names: list[str],
    v: list[torch.Tensor],
) -> torch.Tensor:
    """J v by reverse mode twice: g(u) = J^T u is linear in u, so d/du <g(u), v> = J v.

    Args:
        f: parameters -> (n, C) outputs.
        params: the parameters J is taken with respect to (detached).
        names: their order in ``v``.
        v: tangents shaped like the parameters.

    Returns:
        (n, C) J v, detached.
    """
    with torch.enable_grad():
        leaves = {k: t.detach().requires_grad_(True) for k, t in params.items()}
        out = f(leaves)
        u = torch.zeros_like(out, requires_grad=True)  # any value: g is linear in u
        grads = torch.autograd.grad(
            out, [leaves[k] for k in names], grad_outputs=u, create_graph=True, allow_unused=True
        )
        inner = sum(
            ((g * t).sum() for g, t in zip(grads, v, strict=True) if g is not None),
            out.new_zeros(()),
        )
        if not inner.requires_grad:  # no parameter reaches the output: J = 0
            return torch.zeros_like(out).detach()
        (w,) = torch.autograd.grad(inner, u)
    return w.detach()


def ntk_scores(w: torch.Tensor) -> torch.Tensor:
    """NINT score per coordinate: the L2 norm over channels of w = K r.

    Args:
        w: (N, C) NTK-weighted residual.

    Returns:
        (N,) non-negative scores.
    """
    return torch.linalg.vector_norm(w.reshape(w.shape[0], -1), ord=2, dim=1)


def error_scores(residual: torch.Tensor, norm: str = "l2") -> torch.Tensor:
    """Per-coordinate error magnitude ||r_i|| over channels ("l1" or "l2").

    Args:
        residual: (N, C) or (N,) residual.

    Returns:
        (N,) scores.
    """
    r = residual.reshape(residual.shape[0], -1)
    if norm == "l2":
        return torch.linalg.vector_norm(r, ord=2, dim=1)
    if norm == "l1":
        return r.abs().sum(dim=1)
    raise ValueError(f"unknown error norm {norm!r}: use 'l1' or 'l2'")
