"""Pure index-picking helpers shared by every sampler.

All functions return int64 index tensors (never gathered copies) and draw randomness only from the
generator passed in, so a sampler's choices are reproducible and independent of the global RNG.
"""

from __future__ import annotations

import torch


def count_for_ratio(ratio: float, n: int) -> int:
    """Number of coordinates for a batch ratio: floor(ratio * n), at least 1 and at most n.

    floor matches the released INT and NINT code (``int(size * len(data))``).
    """
    return max(1, min(n, int(ratio * n)))


def top_k(scores: torch.Tensor, k: int, exclude: torch.Tensor | None = None) -> torch.Tensor:
    """Indices of the k largest scores, optionally among coordinates not masked out.

    Args:
        scores: (N,) float scores.
        k: how many to pick; clipped to the number of available coordinates.
        exclude: (N,) bool mask of coordinates that may not be picked.

    Returns:
        (k',) int64 indices in descending score order, k' = min(k, available).
    """
    if k <= 0:
        return torch.empty(0, dtype=torch.long, device=scores.device)
    if exclude is None:
        return torch.topk(scores, min(k, scores.numel())).indices
    available = (~exclude).nonzero().squeeze(1)
    k = min(k, available.numel())
    if k == 0:
        return available[:0]
    return available[torch.topk(scores[available], k).indices]


def uniform(
    n: int,
    k: int,
    generator: torch.Generator,
    exclude: torch.Tensor | None = None,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """k distinct indices drawn uniformly without replacement from range(n) minus ``exclude``.

    The permutation is drawn on the CPU with the sampler's own generator, so the same seed gives
    the same indices on every device.

    Returns:
        (k',) int64 indices, k' = min(k, available).
    """
    if k <= 0:
        return torch.empty(0, dtype=torch.long, device=device)
    if exclude is None:
        k = min(k, n)
        return torch.randperm(n, generator=generator)[:k].to(device)
    available = (~exclude.cpu()).nonzero().squeeze(1)
    k = min(k, available.numel())
    pick = torch.randperm(available.numel(), generator=generator)[:k]
    return available[pick].to(device)


def mask_of(indices: torch.Tensor, n: int) -> torch.Tensor:
    """(N,) bool mask that is True at ``indices``."""
    mask = torch.zeros(n, dtype=torch.bool, device=indices.device)
    mask[indices] = True
    return mask
