"""The model contract: what a backbone declares, and the two functions that read it.

A registered backbone is a ``Backbone`` (an ``nn.Module``) that declares, as class attributes,
its registry ``name``, its ``options`` (``nint.options.Option``: the keyword arguments it takes
beyond ``in_features`` and ``out_features``), the Adam learning rate it trains with by default
(``default_lr``) and any other Adam keyword arguments it needs (``adam_options``), and that
records its own arguments in ``hparams`` when it is built. The rest of nint reads only these
declarations, through ``model_config`` and ``scorer_copy`` here, never by probing a module's
attributes: a module that is not a ``Backbone`` (a user's own) is described by its class name
alone and offers no reduced-precision scorer.

Kept free of the registry (``nint.models.registry``) so that importing the contract imports no
backbone and no settings.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from ..options import Option

#: why config.json cannot rebuild a model of the user's own (recorded in its "model" entry)
NOT_REBUILDABLE = (
    "a model of the user's own class: nint records its class name only, so build it and load "
    "weights.safetensors into it"
)


class Backbone(nn.Module):
    """Base class of the registered backbones (``@nint.models.register``).

    Subclasses set the class attributes below and, in ``__init__``, ``self.hparams`` to every
    argument they were built with (``in_features``, ``out_features`` and each option), so that
    ``config()`` rebuilds them (``nint.models.build_model(**config)``).

    Contract (checked for every built-in by tests/test_backbones.py):

    - ``forward``: (N, D) float32 coordinates -> (N, C) float32 outputs.
    - Initialisation draws from the global torch RNG only; ``build_model(..., seed=s)`` seeds
      it (inside ``torch.random.fork_rng``), so one seed gives the same weights every time.
      Fixed random tensors (Fourier features' B) are persistent buffers, so they are saved
      with the weights.
    - Every trainable tensor is real (a complex network keeps real and imaginary parts as two
      real parameters), so the NTK product, Adam and safetensors see real tensors only.
    - ``reduced_precision_copy(dtype)`` returns a copy for the fast selection's scoring passes,
      or None (the default) when the backbone offers none.

    Attributes:
        name: the registry name (``--model NAME``).
        display_name: how tables name it ("SIREN").
        options: the options ``__init__`` takes beyond the input and output sizes.
        default_lr: the Adam learning rate a fit uses when none is given.
        adam_options: other keyword arguments of the default Adam (e.g. ``eps``).
    """

    name: ClassVar[str] = ""
    display_name: ClassVar[str] = ""
    options: ClassVar[tuple[Option, ...]] = ()
    default_lr: ClassVar[float] = 1e-4
    adam_options: ClassVar[dict[str, Any]] = {}

    hparams: dict[str, Any]

    def config(self) -> dict[str, Any]:
        """The declared config: registry name, class, sizes and options (JSON values)."""
        return {"name": self.name, "class": type(self).__name__, **self.hparams}

    def reduced_precision_copy(self, dtype: torch.dtype) -> nn.Module | None:
        """A copy whose scoring passes run in ``dtype`` ((N, D) float32 coordinates in, (N, C)
        ``dtype`` out, parameters in the order of ``self.parameters()``, refreshed by the
        caller with ``copy_``), or None: this backbone offers none and is scored in float32."""
        return None


def model_config(model: nn.Module) -> dict[str, Any]:
    """config.json's ``"model"`` entry: a backbone's declared config (``Backbone.config``), from
    which ``nint.load_run`` rebuilds it; for any other module its class name and why it
    cannot be rebuilt."""
    if isinstance(model, Backbone):
        return model.config()
    return {"class": type(model).__name__, "rebuild_refused": NOT_REBUILDABLE}


def scorer_copy(model: nn.Module, dtype: torch.dtype) -> nn.Module | None:
    """The reduced-precision copy ``model`` declares for the fast selection's passes
    (``Backbone.reduced_precision_copy``), or None when it offers none (every module that is
    not a ``Backbone``, and backbones without one): such a model is scored in float32 by its
    own forward.

    The copy takes (N, D) float32 coordinates, returns (N, C) in ``dtype``, and lists its
    parameters in the order of ``model.parameters()``, so it is refreshed with ``copy_``."""
    if isinstance(model, Backbone):
        return model.reduced_precision_copy(dtype)
    return None


def adam_options(model: nn.Module) -> dict[str, Any]:
    """The extra keyword arguments of the default Adam that ``model`` declares (none for a
    module that is not a ``Backbone``)."""
    return dict(model.adam_options) if isinstance(model, Backbone) else {}
