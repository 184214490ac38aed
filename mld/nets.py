"""Deterministic autoencoder networks of MLD stage 1 (MLD code ``src/unimodal/``), chosen per modality by its kind
(``bench.data.kinds``) through ``ae_networks(spec, m)``:

- ``AE_NETS[dataset]``: a dataset's image networks (``DataSpec.name``, e.g. "polymnist", "mnist_svhn"); an image
  modality takes its dataset's entry.
- ``KIND_AE_NETS[kind]``: the networks of every other kind, the same on every dataset (e.g. "text").

Every factory is ``make(shape, latent_dim, hidden_dim, width) -> (encoder, decoder)`` with ``shape`` one modality's
shape as models see it (``DataSpec.shapes[m]``): the encoder maps (B, *shape) to (B, D), the decoder maps (B, D) to
(B, *shape), the likelihood's location for an image, per-position logits for text (``mld.autoencoders.AE_KINDS``
turns them into the loss and the model's output); ``width`` multiplies the conv channels (1 = the reference).

PolyMNIST (``EncoderImg`` / ``DecoderImg`` of the reference, D = 160 and hidden = D there):
    encoder: Conv(3->32, k3 s2 p1), ReLU, Conv(32->64, k3 s2 p1), ReLU, Conv(64->128, k3 s2 p1), ReLU: 28 -> 4;
             Flatten(2048), Linear(2048, hidden), ReLU, Linear(hidden, D)
    decoder: Linear(D, 2048), ReLU, view (128, 4, 4), ConvT(128->64, k3 s2 p1), ReLU,
             ConvT(64->32, k3 s2 p1 op1), ReLU, ConvT(32->3, k3 s2 p1 op1): 4 -> 7 -> 14 -> 28; no sigmoid.

Text (the MLD code has no working text autoencoder: its ``LABEL`` modality in ``src/dataLoaders/MnistSvhnText`` cannot
be instantiated; these are MoPoE's text networks, ``mnistsvhntext/networks/ConvNetworksTextMNIST.py`` with dim = 64,
made deterministic): one-hot strings (B, L, V) of L = 8 characters, c = 2 dim = 128 channels times ``width``:
    encoder: transpose to (B, V, L), Conv1d(V->c, k1), ReLU, Conv1d(c->c, k4 s2 p1), ReLU, Conv1d(c->c, k4 s2 p0),
             ReLU: 8 -> 4 -> 1; Flatten(c), Linear(c, D) (one head: the latent itself, no log-variance)
    decoder: Linear(D, c), view (c, 1), ConvT1d(c->c, k4 s1 p0), ReLU, ConvT1d(c->c, k4 s2 p1), ReLU: 1 -> 4 -> 8;
             Conv1d(c->V, k1), transposed to (B, L, V) logits (MoPoE's log-softmax is left to the loss and the output).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from torch import nn

from baselines.nets.text import CHANNELS as TEXT_CHANNELS, LENGTH as TEXT_LENGTH, text_body, text_decoder
from bench.errors import BenchError
from bench.registry import Registry

if TYPE_CHECKING:
    from bench.interface import DataSpec

AE_NETS: Registry = Registry("autoencoder network")
KIND_AE_NETS: Registry = Registry("autoencoder network kind")


def ae_networks(spec: DataSpec, m: str) -> Callable[..., tuple[nn.Module, nn.Module]]:
    """The factory of modality ``m`` of ``spec``: an image's from its dataset's ``AE_NETS[spec.name]``, a modality of
    another kind from ``KIND_AE_NETS[kind]``."""
    kind = spec.kind(m)
    return AE_NETS.get(spec.name) if kind == "image" else KIND_AE_NETS.get(kind)


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


@AE_NETS.register("mnist_svhn_text")  # MNIST-SVHN-Text's images are MNIST-SVHN's (its text: KIND_AE_NETS["text"])
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


@KIND_AE_NETS.register("text")
def text(shape: tuple[int, ...], latent_dim: int, hidden_dim: int, width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """One-hot (L = 8, V) strings: MoPoE's conv text networks (module docstring; the VAEs' ``baselines.nets.text``
    with one deterministic Linear head); ``hidden_dim`` is not used."""
    if len(shape) != 2 or shape[0] != TEXT_LENGTH:
        raise BenchError(
            f"the text autoencoder takes one-hot strings ({TEXT_LENGTH}, V), got {tuple(shape)}",
            "pad or cut the strings to 8 characters or register a text autoencoder for this length in mld/nets.py",
        )
    vocab = shape[1]
    (c,) = scaled((TEXT_CHANNELS,), width)
    encoder = nn.Sequential(*text_body(vocab, c), nn.Linear(c, latent_dim))
    return encoder, text_decoder(latent_dim, c, vocab)
