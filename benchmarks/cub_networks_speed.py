"""Training-step time of each CUB network (``bench.suites.cub.nets``) at several widths: what the CUB presets of the
small scales are chosen from.

    python -m benchmarks.cub_networks_speed [--widths 1,0.5,0.25] [--batch 64] [--steps 5] [--vocabulary 60]

For every family with an encoder and a decoder (the VAEs' networks, MLD's autoencoders) and both modalities (3x64x64
images, one-hot captions of 32 words over ``--vocabulary`` words): parameters, and the mean seconds of one step
(encode, decode the posterior mean or the code, squared error, backward, Adam) over ``--steps`` steps after a
warm-up step, on random inputs on the CPU with torch's default threads. The likelihoods and the models' objectives
are not included: this times the networks.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from bench.data.kinds import ModalitySpec
from bench.data.kinds.sentence import SPECIAL
from bench.suites.cub.nets import NETWORKS

FAMILIES = {"vae": {"latent_dim": 64}, "autoencoder": {"latent_dim": 64, "hidden_dim": 0}}


def step_seconds(family: str, spec: ModalitySpec, x: torch.Tensor, width: float, steps: int) -> tuple[int, float]:
    """(parameters, mean seconds per training step) of one modality's networks."""
    encoder, decoder = NETWORKS.build(family, spec, width=width, **FAMILIES[family])
    params = [*encoder.parameters(), *decoder.parameters()]
    optimizer = torch.optim.Adam(params, lr=1e-3)

    def step() -> None:
        code = encoder(x)
        loss = (decoder(code[0] if isinstance(code, tuple) else code) - x).square().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return sum(p.numel() for p in params), (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--widths", default="1,0.5,0.25")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--vocabulary", type=int, default=60)
    args = parser.parse_args()
    torch.manual_seed(0)
    words = (*SPECIAL, *(f"w{i}" for i in range(args.vocabulary - len(SPECIAL))))
    specs = {"image": ModalitySpec("image", (3, 64, 64)), "caption": ModalitySpec("sentence", (32,), vocabulary=words)}
    inputs = {"image": torch.rand(args.batch, 3, 64, 64),
              "caption": F.one_hot(torch.randint(0, len(words), (args.batch, 32)), len(words)).float()}
    print(f"| family | width | modality | parameters | ms per step of {args.batch} |\n|---|---|---|---|---|")
    for family in FAMILIES:
        for width in (float(w) for w in args.widths.split(",")):
            for m, spec in specs.items():
                n, seconds = step_seconds(family, spec, inputs[m], width, args.steps)
                print(f"| {family} | {width:g} | {m} | {n / 1e6:.2f} M | {seconds * 1000:.1f} |")


if __name__ == "__main__":
    main()
