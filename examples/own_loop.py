"""NINT in your own training loop: your model, your optimizer, your loss; nint picks the pixels.

    python examples/own_loop.py                      # 128 px astronaut, 300 steps, Huber loss
    python examples/own_loop.py --loss charbonnier   # a loss nint does not know: give dL/df
    python examples/own_loop.py --strategy soft      # any strategy (gradient=: NTK ones only)

Each step asks the teacher which coordinates to train on, trains on them as usual, then tells
the teacher how the step went. See docs/samplers.md for what each strategy does with that.
"""

import argparse
import math

import torch
from torch import nn
from torch.nn.functional import huber_loss

import nint
from nint.demo import bundled_image  # photos shipped inside scikit-image: no download


class FourierMLP(nn.Module):
    """Random Fourier features (Tancik et al., 2020), then a ReLU MLP: (N, 2) -> (N, C)."""

    def __init__(self, out_features: int, features: int = 128, scale: float = 10.0) -> None:
        super().__init__()
        self.register_buffer("frequencies", scale * torch.randn(2, features))
        self.net = nn.Sequential(
            nn.Linear(2 * features, 256), nn.ReLU(),
            nn.Linear(256, 256), nn.ReLU(),
            nn.Linear(256, out_features),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = math.pi * x @ self.frequencies
        return self.net(torch.cat([z.sin(), z.cos()], dim=1))


def charbonnier_gradient(prediction: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """dL/df of the Charbonnier loss sqrt(r^2 + eps^2), r = f - y: what NINT's NTK multiplies."""
    r = prediction - targets
    return r / torch.sqrt(r**2 + 1e-3**2)


def psnr(model: nn.Module, signal: nint.ImageSignal) -> float:
    with torch.no_grad():
        mse = ((model(signal.coords).clamp(0, 1) - signal.values) ** 2).mean()
    return -10 * math.log10(float(mse))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--size", type=int, default=128, help="longer side in pixels (>= 16)")
    parser.add_argument("--every", type=int, default=50, help="print the PSNR every N steps")
    parser.add_argument("--strategy", default="nint", help="nint, int, uniform, soft, ...")
    parser.add_argument("--loss", default="huber", choices=["huber", "charbonnier"])
    args = parser.parse_args()

    torch.manual_seed(0)
    signal = bundled_image("astronaut", args.size)  # coords (N, 2) in [-1, 1], values (N, 3)
    model = FourierMLP(signal.out_features)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-5)
    if args.loss == "huber":  # a loss nint knows: it ranks errors by it and follows its gradient
        teach = {"loss": "huber", "huber_delta": 0.1}
    else:  # any other loss: hand nint its gradient with respect to the model's output
        teach = {"gradient": charbonnier_gradient}
    teacher = nint.Teacher(model, signal.coords, signal.values, args.strategy,
                           steps=args.steps, raster=signal.raster, **teach)  # fmt: skip

    for step in range(1, args.steps + 1):
        batch = teacher.select()  # which coordinates to train on now
        prediction = model(batch.coords)
        r = prediction - batch.targets
        if args.loss == "huber":
            per_element = huber_loss(prediction, batch.targets, delta=0.1, reduction="none")
        else:
            per_element = torch.sqrt(r**2 + 1e-3**2)
        loss = (batch.weights(r)[:, None] * per_element).mean()  # weights: 1 except Soft Mining
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        teacher.feedback(batch, prediction)  # how the step went, before the next select
        if step % args.every == 0:
            print(f"step {step:5d}  loss {loss.item():.5f}  PSNR {psnr(model, signal):.2f} dB")
    print(f"final PSNR {psnr(model, signal):.2f} dB ({args.strategy}, {args.steps} steps)")


if __name__ == "__main__":
    main()
