"""Per-dataset deterministic autoencoder networks of MLD stage 1 (MLD code ``src/unimodal/``).

``AE_NETS.get(spec.name)(shape, latent_dim, hidden_dim, width) -> (encoder, decoder)``: the encoder maps
(B, C, H, W) to (B, D), the decoder maps (B, D) to the likelihood's location (B, C, H, W); ``width`` multiplies the
conv channels (1 = the reference).

PolyMNIST (``EncoderImg`` / ``DecoderImg`` of the reference, D = 160 and hidden = D there):
    encoder: Conv(3->32, k3 s2 p1), ReLU, Conv(32->64, k3 s2 p1), ReLU, Conv(64->128, k3 s2 p1), ReLU: 28 -> 4;
             Flatten(2048), Linear(2048, hidden), ReLU, Linear(hidden, D)
    decoder: Linear(D, 2048), ReLU, view (128, 4, 4), ConvT(128->64, k3 s2 p1), ReLU,
             ConvT(64->32, k3 s2 p1 op1), ReLU, ConvT(32->3, k3 s2 p1 op1): 4 -> 7 -> 14 -> 28; no sigmoid.
"""

from __future__ import annotations

from torch import nn

from bench.errors import BenchError
from bench.registry import Registry

AE_NETS: Registry = Registry("autoencoder network")


def scaled(channels: tuple[int, ...], width: float) -> tuple[int, ...]:
    """``channels`` times ``width``, at least 1 each."""
    return tuple(max(1, round(c * width)) for c in channels)


@AE_NETS.register("polymnist")
def polymnist(shape: tuple[int, ...], latent_dim: int, hidden_dim: int, width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    if len(shape) != 3 or tuple(shape[1:]) != (28, 28):
        raise BenchError(
            f"the polymnist autoencoder takes (C, 28, 28) images, got {tuple(shape)}",
            "resize the images to 28x28 or register an autoencoder for this shape in mld/nets.py",
        )
    channels = shape[0]
    c1, c2, c3 = scaled((32, 64, 128), width)
    encoder = nn.Sequential(
        nn.Conv2d(channels, c1, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(c1, c2, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(c2, c3, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(c3 * 4 * 4, hidden_dim),
        nn.ReLU(),
        nn.Linear(hidden_dim, latent_dim),
    )
    decoder = nn.Sequential(
        nn.Linear(latent_dim, c3 * 4 * 4),
        nn.ReLU(),
        nn.Unflatten(1, (c3, 4, 4)),
        nn.ConvTranspose2d(c3, c2, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(c1, channels, 3, stride=2, padding=1, output_padding=1),
    )
    return encoder, decoder


@AE_NETS.register("mnist_svhn")
def mnist_svhn(shape: tuple[int, ...], latent_dim: int, hidden_dim: int, width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """MNIST (1, 28, 28): MLP 784 -> 400 -> D, decoder D -> 400 -> 784 with sigmoid (``MnistEncoder/Decoder``).
    SVHN (3, 32, 32): conv 3->32->64->128 (k4 s2 p1) 32 -> 4, conv 128->D (k4 s1 p0) 4 -> 1; decoder ConvT D->128
    (k4 s1 p0) 1 -> 4, 128->64->32->3 (k4 s2 p1) 4 -> 32, sigmoid (``SvhnEncoder/Decoder``, fBase 32). The hidden
    widths are the reference's (``hidden_dim`` is not used); ``width`` scales the SVHN conv channels."""
    if tuple(shape) == (1, 28, 28):
        encoder = nn.Sequential(nn.Flatten(), nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, latent_dim))
        decoder = nn.Sequential(
            nn.Linear(latent_dim, 400), nn.ReLU(), nn.Linear(400, 784), nn.Sigmoid(), nn.Unflatten(1, (1, 28, 28))
        )
        return encoder, decoder
    if tuple(shape) == (3, 32, 32):
        c1, c2, c3 = scaled((32, 64, 128), width)
        encoder = nn.Sequential(
            nn.Conv2d(3, c1, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c2, c3, 4, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c3, latent_dim, 4, stride=1, padding=0), nn.Flatten(),
        )
        decoder = nn.Sequential(
            nn.Unflatten(1, (latent_dim, 1, 1)),
            nn.ConvTranspose2d(latent_dim, c3, 4, stride=1, padding=0), nn.ReLU(),
            nn.ConvTranspose2d(c3, c2, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c1, 3, 4, stride=2, padding=1), nn.Sigmoid(),
        )
        return encoder, decoder
    raise BenchError(
        f"the mnist_svhn autoencoders take (1, 28, 28) MNIST or (3, 32, 32) SVHN images, got {tuple(shape)}",
        "register an autoencoder for this shape in mld/nets.py",
    )
