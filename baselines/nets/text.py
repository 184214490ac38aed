"""Text encoder/decoder (MoPoE code ``mnistsvhntext/networks/ConvNetworksTextMNIST.py``, ``dim`` = 64), registered as
``KIND_NETS["text"]``: one-hot strings (B, L, V) of L = 8 characters over an alphabet of V in, per-position logits
(B, L, V) out. With c = 2 dim = 128 channels times ``width``:

- Encoder: transpose to (B, V, L); Conv1d V->c (k1), ReLU; Conv1d c->c (k4 s2 p1) 8 -> 4, ReLU; Conv1d c->c
  (k4 s2 p0) 4 -> 1, ReLU; flatten c; Linear(c, D) heads for mu and logvar.
- Decoder: Linear(D, c), view (c, 1); ConvTranspose1d c->c (k4 s1 p0) 1 -> 4, ReLU; ConvTranspose1d c->c (k4 s2 p1)
  4 -> 8, ReLU; Conv1d c->V (k1), transposed to (B, L, V). MoPoE ends with a log-softmax over the alphabet; here the
  decoder returns the logits and the categorical likelihood normalises them (``baselines.outputs``).
"""

from __future__ import annotations

from torch import Tensor, nn

from baselines.nets import KIND_NETS
from baselines.nets.mnist_svhn import GaussianHeads
from bench.errors import BenchError

LENGTH = 8  # the convolutions take 8 positions to 1 and back
CHANNELS = 128  # 2 * MoPoE's dim


class SwapLastTwo(nn.Module):
    """(B, X, Y) -> (B, Y, X)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.transpose(-2, -1)


def text_body(vocabulary: int, channels: int) -> nn.Sequential:
    """One-hot strings (B, 8, V) -> (B, channels): MoPoE's text encoder without its heads (module docstring)."""
    return nn.Sequential(
        SwapLastTwo(),  # (B, L, V) -> (B, V, L)
        nn.Conv1d(vocabulary, channels, kernel_size=1), nn.ReLU(),
        nn.Conv1d(channels, channels, kernel_size=4, stride=2, padding=1), nn.ReLU(),  # 8 -> 4
        nn.Conv1d(channels, channels, kernel_size=4, stride=2, padding=0), nn.ReLU(),  # 4 -> 1
        nn.Flatten(),
    )


def text_decoder(latent_dim: int, channels: int, vocabulary: int) -> nn.Sequential:
    """(B, latent_dim) -> per-position logits (B, 8, V): MoPoE's text decoder without its log-softmax."""
    return nn.Sequential(
        nn.Linear(latent_dim, channels), nn.Unflatten(1, (channels, 1)),
        nn.ConvTranspose1d(channels, channels, kernel_size=4, stride=1, padding=0), nn.ReLU(),  # 1 -> 4
        nn.ConvTranspose1d(channels, channels, kernel_size=4, stride=2, padding=1), nn.ReLU(),  # 4 -> 8
        nn.Conv1d(channels, vocabulary, kernel_size=1),
        SwapLastTwo(),  # (B, V, L) -> (B, L, V)
    )


def text_nets(vocabulary: int, latent_dim: int, width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """The text encoder and decoder over an alphabet of ``vocabulary`` characters, channels 128 times ``width``."""
    c = max(1, round(CHANNELS * width))
    body = text_body(vocabulary, c)
    decoder = text_decoder(latent_dim, c, vocabulary)
    return GaussianHeads(body, c, latent_dim), decoder


@KIND_NETS.register("text")
def make(shape: tuple[int, ...], latent_dim: int, width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """The text networks for one-hot strings of shape (L, V) = (8, V)."""
    if len(shape) != 2 or shape[0] != LENGTH:
        raise BenchError(
            f"the text networks take one-hot strings of shape ({LENGTH}, V), got {tuple(shape)}",
            "register text networks for this length in baselines/nets/",
        )
    return text_nets(shape[1], latent_dim, width)
