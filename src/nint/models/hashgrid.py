"""A multiresolution hash encoding (Muller et al., 2022, Instant-NGP) and a small ReLU MLP, in
plain PyTorch: gathers and weighted sums, for 1-D, 2-D and 3-D coordinates.

Level l of L has resolution N_l = floor(N_min b^l), b = exp((ln N_max - ln N_min) / (L - 1)).
A coordinate x in [-1, 1]^D is mapped to u = (x + 1) / 2 in [0, 1]^D and to p = u N_l on level
l; the 2^D corners of its cell are looked up in the level's table of T entries of F features,
directly where the level's (N_l + 1)^D vertices fit in T, else hashed by
XOR_i (corner_i * pi_i) mod T with pi = (1, 2654435761, 805459861), and combined with d-linear
weights. The L feature vectors are concatenated and fed to the MLP.

Everything is indexing and arithmetic, so forward-mode AD works (the NTK product's JVP needs no
fallback), and gradients reach the coordinates too (through the interpolation weights).

Choices (docs/deviations.md, "Backbones"): T = 2^15 by default (the paper's range is 2^14 to
2^19; 2^15 holds a 256 x 256 image's finest levels with few collisions); N_min = 16, N_max = 512;
L = 16, F = 2; tables U(-1e-4, 1e-4) as in the paper; a ReLU MLP of 2 x 64 with biases and
PyTorch's initialisation (the paper's fully fused MLP has no biases); Adam with the paper's eps
1e-15 and betas (0.9, 0.99), and a learning rate of 1e-2 (the paper's); coordinates outside
[-1, 1] are clamped to it (fit audio with its coordinate range 1 for this backbone).
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from ..checks import check_memory
from ..errors import NintError
from ..options import Option
from .base import Backbone
from .fourier import relu_mlp
from .siren import DEPTH, WIDTH

#: the paper's hashing primes, one per dimension
PRIMES = (1, 2654435761, 805459861)

HASH_LEVELS = Option("hash_levels", "hash grid: L, the number of levels", type=int)
HASH_FEATURES = Option("hash_features", "hash grid: F, features per level", type=int)
HASH_LOG2_SIZE = Option("hash_log2_size", "hash grid: log2 T, entries per level's table", type=int)
HASH_MIN_RES = Option("hash_min_res", "hash grid: N_min, the coarsest resolution", type=int)
HASH_MAX_RES = Option("hash_max_res", "hash grid: N_max, the finest resolution", type=int)


def level_resolutions(levels: int, min_res: int, max_res: int) -> list[int]:
    """N_l = floor(N_min b^l) for l < L, b = exp((ln N_max - ln N_min) / (L - 1))."""
    if levels == 1:
        return [min_res]
    growth = math.exp((math.log(max_res) - math.log(min_res)) / (levels - 1))
    # the small epsilon keeps exact powers (16 * 2^k) from flooring one below
    return [int(math.floor(min_res * growth**level + 1e-9)) for level in range(levels)]


def corner_index(corners: torch.Tensor, resolution: int, table_size: int) -> torch.Tensor:
    """Table rows of integer grid vertices on a level of ``resolution`` cells per side.

    Args:
        corners: (..., D) int64 vertex coordinates in [0, resolution].

    Returns:
        (...) int64 rows in [0, table_size): row-major where (resolution + 1)^D <= table_size,
        else the XOR hash of corner_i * pi_i, modulo table_size (a power of two).
    """
    d = corners.shape[-1]
    side = resolution + 1
    if side**d <= table_size:
        strides = torch.tensor(
            [side**i for i in range(d)], dtype=torch.int64, device=corners.device
        )
        return (corners * strides).sum(-1)
    hashed = corners[..., 0] * PRIMES[0]
    for i in range(1, d):
        hashed = hashed ^ (corners[..., i] * PRIMES[i])
    return hashed & (table_size - 1)


def hash_encode(
    coords: torch.Tensor, tables: torch.Tensor, resolutions: list[int], offsets: torch.Tensor
) -> torch.Tensor:
    """The multiresolution encoding.

    Args:
        coords: (N, D) in [-1, 1] (clamped to it).
        tables: (L, T, F) feature tables.
        resolutions: the L levels' N_l.
        offsets: (2^D, D) int64, the cell corners' offsets in {0, 1}^D.

    Returns:
        (N, L F): per level the d-linear interpolation of the cell's 2^D corner features.
    """
    u = ((coords.clamp(-1.0, 1.0) + 1.0) * 0.5).to(tables.dtype)
    table_size = tables.shape[1]
    features = []
    for level, resolution in enumerate(resolutions):
        p = u * resolution
        cell = torch.floor(p).clamp(max=resolution - 1)  # u = 1 stays in the last cell
        frac = p - cell  # (N, D), differentiable in the coordinates
        corners = cell.long()[:, None, :] + offsets[None]  # (N, 2^D, D)
        rows = corner_index(corners, resolution, table_size)  # (N, 2^D)
        chosen = offsets[None].to(frac.dtype)  # 1 where the corner is the upper one
        weights = torch.where(chosen > 0, frac[:, None, :], 1.0 - frac[:, None, :]).prod(-1)
        values = tables[level].index_select(0, rows.reshape(-1)).reshape(*rows.shape, -1)
        features.append((weights[..., None] * values).sum(1))  # (N, F)
    return torch.cat(features, dim=1)


class HashGrid(Backbone):
    """A multiresolution hash encoding followed by a ReLU MLP of ``depth`` x ``width``.

    Args:
        in_features, out_features: D (1, 2 or 3) and C.
        width, depth: the MLP's hidden units and ReLU layers (64, 2).
        hash_levels, hash_features: L and F (16, 2).
        hash_log2_size: log2 of T, the entries of each level's table (15).
        hash_min_res, hash_max_res: N_min and N_max (16, 512).

    Shapes: (N, D) -> (N, C).
    """

    name = "hashgrid"
    display_name = "Hash grid"
    options = (WIDTH, DEPTH, HASH_LEVELS, HASH_FEATURES, HASH_LOG2_SIZE, HASH_MIN_RES, HASH_MAX_RES)
    default_lr = 1e-2
    adam_options = {"eps": 1e-15, "betas": (0.9, 0.99)}

    def __init__(
        self, in_features: int, out_features: int, width: int = 64, depth: int = 2,
        hash_levels: int = 16, hash_features: int = 2, hash_log2_size: int = 15,
        hash_min_res: int = 16, hash_max_res: int = 512,
    ) -> None:  # fmt: skip
        super().__init__()
        if not 1 <= in_features <= len(PRIMES):
            raise NintError(f"the hash grid takes 1-D to 3-D coordinates, got {in_features}-D")
        if hash_log2_size > 30:
            raise NintError(f"hash_log2_size is at most 30, got {hash_log2_size}")
        if hash_max_res < hash_min_res:
            raise NintError(
                f"hash_max_res ({hash_max_res}) must be at least hash_min_res ({hash_min_res})"
            )
        table_size = 1 << hash_log2_size
        params = hash_levels * table_size * hash_features
        params += (hash_levels * hash_features + 1) * width + (depth - 1) * (width + 1) * width
        check_memory(16 * params, f"a hash grid of {hash_levels} x 2^{hash_log2_size} entries")
        self.resolutions = level_resolutions(hash_levels, hash_min_res, hash_max_res)
        self.tables = nn.Parameter(
            torch.empty(hash_levels, table_size, hash_features).uniform_(-1e-4, 1e-4)
        )
        corners = list(itertools.product((0, 1), repeat=in_features))
        # derived from the sizes, so not saved with the weights
        self.register_buffer("offsets", torch.tensor(corners, dtype=torch.int64), persistent=False)
        self.offsets: torch.Tensor
        self.mlp = relu_mlp(hash_levels * hash_features, width, depth, out_features)
        self.hparams = {
            "in_features": in_features, "out_features": out_features, "width": width,
            "depth": depth, "hash_levels": hash_levels, "hash_features": hash_features,
            "hash_log2_size": hash_log2_size, "hash_min_res": hash_min_res,
            "hash_max_res": hash_max_res,
        }  # fmt: skip

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.mlp(hash_encode(coords, self.tables, self.resolutions, self.offsets))
