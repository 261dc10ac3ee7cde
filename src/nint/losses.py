"""The training loss of a fit (``loss="mse" | "l1" | "huber"``) and the gradient K r multiplies.

Every loss here is elementwise in the residual r = f(x) - y, shapes (N, C):

======  ==========================================  ===================================
loss    per element l(r)                            gradient g(r) handed to K r
======  ==========================================  ===================================
mse     r^2                                         r            (= dl/dr / 2)
l1      |r|                                         sign(r)      (0 at r = 0)
huber   r^2 / 2 for |r| <= delta,                   clip(r, -delta, delta)
        delta (|r| - delta / 2) beyond
======  ==========================================  ===================================

A coordinate's loss is the mean of l over its C channels (``loss_values``); the training loss is
the mean of that over the batch, i.e. the mean of l over the chosen coordinates and channels,
as the MSE has always been. NINT scores coordinates by ||(K g)_i|| with g the loss gradient with
respect to the prediction (``loss_gradient``); the paper uses the MSE only, where g is the
residual itself.

Choices:

- The MSE's gradient is handed on as r, not 2 r: r is what nint has always multiplied (so the
  default computes what it computed before), and a positive factor common to all coordinates
  changes no ranking (K is linear and every score a norm). ``GRADIENT_SCALE`` names the factor
  between ``loss_gradient`` and the elementwise dl/dr for each loss.
- At r = 0, l1's gradient is 0 (the subgradient autograd takes for ``abs``); at |r| = delta the
  Huber gradient is +-delta (both sides agree there). Huber is PyTorch's ``huber_loss``, whose
  quadratic part is r^2 / 2, so inside delta it hands on exactly the MSE's residual.
- The default delta is 1.0, PyTorch's (``torch.nn.HuberLoss``): signals whose values lie in
  [0, 1] or [-1, 1] then see errors beyond delta only early in a fit; a smaller delta makes the
  loss robust to more of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .checks import POSITIVE, check_float
from .errors import NintError
from .ntk import error_scores

LOSSES = ("mse", "l1", "huber")
#: PyTorch's default delta for ``torch.nn.HuberLoss``
DEFAULT_HUBER_DELTA = 1.0
#: loss_gradient = GRADIENT_SCALE[loss] * d l / d r, elementwise
GRADIENT_SCALE = {"mse": 0.5, "l1": 1.0, "huber": 1.0}


def elementwise_loss(residual: torch.Tensor, loss: str = "mse", delta: float = 1.0) -> torch.Tensor:
    """l(r) per element.

    Args:
        residual: (N, C) r = f(x) - y.
        loss: "mse", "l1" or "huber".
        delta: the Huber threshold (only for "huber").

    Returns:
        (N, C), differentiable in ``residual``.
    """
    if loss == "mse":
        return residual.pow(2)  # the op fit has always used: the default's bits stay the same
    if loss == "l1":
        return residual.abs()
    if loss == "huber":
        zero = torch.zeros_like(residual)
        return torch.nn.functional.huber_loss(residual, zero, reduction="none", delta=delta)
    raise ValueError(f"unknown loss {loss!r}: use one of {', '.join(LOSSES)}")


def loss_values(residual: torch.Tensor, loss: str = "mse", delta: float = 1.0) -> torch.Tensor:
    """Each coordinate's loss, the mean of l over its channels.

    Args:
        residual: (N, C) r = f(x) - y.

    Returns:
        (N,) non-negative; their mean over a batch is the training loss of that batch.
    """
    return elementwise_loss(residual, loss, delta).mean(dim=1)


def loss_gradient(residual: torch.Tensor, loss: str = "mse", delta: float = 1.0) -> torch.Tensor:
    """The loss gradient with respect to the prediction that K r multiplies (module docstring).

    Args:
        residual: (N, C) r = f(x) - y.

    Returns:
        (N, C) GRADIENT_SCALE[loss] * d l / d f; for "mse" ``residual`` itself (not a copy).
    """
    if loss == "mse":
        return residual
    if loss == "l1":
        return torch.sign(residual)
    if loss == "huber":
        return residual.clamp(-delta, delta)
    raise ValueError(f"unknown loss {loss!r}: use one of {', '.join(LOSSES)}")


@dataclass(frozen=True)
class Loss:
    """A fit's loss: its name and, for Huber, its delta. The trainer hands it to the samplers
    (``SelectionContext.loss``, ``StepFeedback.loss``), so that each place that forms a residual
    for K r or ranks coordinates by their error asks it instead of assuming the MSE.

    Use ``make_loss`` for a user's values (it checks them).
    """

    name: str = "mse"
    delta: float = DEFAULT_HUBER_DELTA

    @property
    def is_mse(self) -> bool:
        return self.name == "mse"

    def elementwise(self, residual: torch.Tensor) -> torch.Tensor:
        """(N, C) l(r) of the residual (N, C)."""
        return elementwise_loss(residual, self.name, self.delta)

    def values(self, residual: torch.Tensor) -> torch.Tensor:
        """(N,) each coordinate's loss (mean over channels) of the residual (N, C)."""
        return loss_values(residual, self.name, self.delta)

    def gradient(self, residual: torch.Tensor) -> torch.Tensor:
        """(N, C) the gradient K r multiplies, for the residual (N, C)."""
        return loss_gradient(residual, self.name, self.delta)

    def error_scores(self, residual: torch.Tensor, norm: str) -> torch.Tensor:
        """(N,) what an error part ranks by: under the MSE the strategy's own ``norm`` of the
        residual over channels (INT: L1, NINT: L2), as the papers define it; under any other
        loss the coordinate's loss value (the norm does not apply there)."""
        if self.is_mse:
            return error_scores(residual, norm)
        return self.values(residual)

    def config(self) -> dict[str, object]:
        """The loss's part of config.json: its name, and delta for Huber (else None)."""
        return {"loss": self.name, "huber_delta": self.delta if self.name == "huber" else None}


MSE = Loss()


def make_loss(name: object = "mse", huber_delta: object = None) -> Loss:
    """The ``Loss`` for a user's ``loss`` and ``huber_delta``; NintError (one line) for an
    unknown loss, a delta that is not a positive finite number, or a delta without Huber."""
    if not isinstance(name, str) or name not in LOSSES:
        raise NintError(f"unknown loss {name!r}; choose from {', '.join(LOSSES)}")
    if huber_delta is None:
        return Loss(name)
    if name != "huber":
        raise NintError(f"huber_delta applies only to loss='huber', not loss={name!r}")
    return Loss(name, check_float(huber_delta, "huber_delta", POSITIVE))
