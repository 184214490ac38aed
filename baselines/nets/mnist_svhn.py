"""MNIST-SVHN encoders/decoders (MoPoE code ``ConvNetworksImg{MNIST,SVHN}.py``; MLD code ``src/unimodal/mnist_svhn``),
chosen per modality by its shape; also the image networks of MNIST-SVHN-Text (``NETS["mnist_svhn_text"]``).

- MNIST (1, 28, 28), MoPoE/MMVAE MLP: flatten 784 -> Linear 400, ReLU -> mu, logvar heads (D); decoder D -> 400, ReLU
  -> 784, sigmoid, reshape (1, 28, 28).
- SVHN (3, 32, 32), MoPoE ``ConvNetworksImgSVHN``: conv 3->32 (k4 s2 p1) 32 -> 16, 32->64 (k4 s2 p1) 16 -> 8,
  64->64 (k4 s2 p1) 8 -> 4, 64->128 (k4 s1 p0) 4 -> 1, ReLU after each; mu, logvar heads Linear(128, D). Decoder:
  Linear(D, 128), view (128, 1, 1), ConvT 128->64 (k4 s1 p0) 1 -> 4, 64->64 (k4 s2 p1) 4 -> 8, 64->32 (k4 s2 p1)
  8 -> 16, 32->3 (k4 s2 p1) 16 -> 32, ReLU between, no output sigmoid (MoPoE; MLD's MMVAE nets add one).
"""

from __future__ import annotations

from torch import Tensor, nn

from baselines.nets import NETS
from bench.errors import BenchError

MNIST_SHAPE = (1, 28, 28)
SVHN_SHAPE = (3, 32, 32)
MLP_HIDDEN = 400


class GaussianHeads(nn.Module):
    """body(x) -> (mu, logvar) through two Linear heads."""

    def __init__(self, body: nn.Module, width: int, latent_dim: int) -> None:
        super().__init__()
        self.body = body
        self.mu = nn.Linear(width, latent_dim)
        self.logvar = nn.Linear(width, latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.body(x)
        return self.mu(h), self.logvar(h)


def mnist_nets(latent_dim: int) -> tuple[nn.Module, nn.Module]:
    encoder = GaussianHeads(nn.Sequential(nn.Flatten(), nn.Linear(784, MLP_HIDDEN), nn.ReLU()), MLP_HIDDEN, latent_dim)
    decoder = nn.Sequential(
        nn.Linear(latent_dim, MLP_HIDDEN), nn.ReLU(), nn.Linear(MLP_HIDDEN, 784), nn.Sigmoid(), nn.Unflatten(1, MNIST_SHAPE)
    )
    return encoder, decoder


def svhn_nets(latent_dim: int, width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """The SVHN conv networks with their channels (32, 64, 64, 128) times ``width``."""
    c1, c2, c3, c4 = (max(1, round(c * width)) for c in (32, 64, 64, 128))
    body = nn.Sequential(
        nn.Conv2d(3, c1, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(c1, c2, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(c2, c3, 4, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c4, 4, stride=1, padding=0), nn.ReLU(),
        nn.Flatten(),
    )
    decoder = nn.Sequential(
        nn.Linear(latent_dim, c4), nn.Unflatten(1, (c4, 1, 1)),
        nn.ConvTranspose2d(c4, c3, 4, stride=1, padding=0), nn.ReLU(),
        nn.ConvTranspose2d(c3, c2, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(c2, c1, 4, stride=2, padding=1), nn.ReLU(),
        nn.ConvTranspose2d(c1, 3, 4, stride=2, padding=1),
    )
    return GaussianHeads(body, c4, latent_dim), decoder


@NETS.register("mnist_svhn_text")  # MNIST-SVHN-Text's images are MNIST-SVHN's (its text: ``KIND_NETS["text"]``)
@NETS.register("mnist_svhn")
def make(shape: tuple[int, ...], latent_dim: int, width: float = 1.0) -> tuple[nn.Module, nn.Module]:
    """The MNIST MLP for (1, 28, 28) (``width`` does not apply), the SVHN conv networks for (3, 32, 32) with their
    channels times ``width``."""
    builders = {MNIST_SHAPE: lambda d: mnist_nets(d), SVHN_SHAPE: lambda d: svhn_nets(d, width)}
    if tuple(shape) not in builders:
        raise BenchError(
            f"the mnist_svhn networks take {MNIST_SHAPE} (MNIST) or {SVHN_SHAPE} (SVHN) images, got {tuple(shape)}",
            "register networks for this shape in baselines/nets/",
        )
    return builders[tuple(shape)](latent_dim)
