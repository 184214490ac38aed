"""Per-modality digit classifiers used to score coherence, and as a feature net for FD ("FD-clf")."""

from __future__ import annotations

from torch import Tensor, nn

# Layers a caller may ask for, as torch-fidelity's extractors declare theirs.
FEATURE_LAYERS = ("penultimate", "logits")


class DigitClassifier(nn.Module):
    """PolyMNIST ``ClfImg`` (MoPoE ``ConvNetworkImgClfCMNIST``), input (B, C, S, S) in [0, 1] (S divisible by 4):

    conv C->10 (k4, s2, p1), Dropout2d 0.5, ReLU; conv 10->20 (same), Dropout2d 0.5, ReLU;
    flatten 20 (S/4)^2 (980 at S = 28) -> Linear 128, Dropout 0.5, ReLU (the 128-d *penultimate* features) ->
    Linear 10 (logits). For MNIST-SVHN the same design serves both modalities (1x28x28 and 3x32x32), trained by the
    suite; the MMVAE/MLD classifiers (conv k5 + max-pool) are not used.
    """

    def __init__(self, in_channels: int = 3, n_classes: int = 10, image_size: int = 28) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 10, kernel_size=4, stride=2, padding=1),
            nn.Dropout2d(0.5),
            nn.ReLU(),
            nn.Conv2d(10, 20, kernel_size=4, stride=2, padding=1),
            nn.Dropout2d(0.5),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(20 * (image_size // 4) ** 2, 128),
            nn.Dropout(0.5),
            nn.ReLU(),
        )
        self.head = nn.Linear(128, n_classes)

    def features(self, x: Tensor, layer: str = "penultimate") -> Tensor:
        """(B, C, S, S) -> (B, 128) penultimate activations, or (B, 10) logits."""
        if layer not in FEATURE_LAYERS:
            raise ValueError(f"unknown feature layer {layer!r}; provided: {', '.join(FEATURE_LAYERS)}")
        h = self.body(x)
        return h if layer == "penultimate" else self.head(h)

    def forward(self, x: Tensor) -> Tensor:
        """(B, 3, 28, 28) -> (B, 10) logits."""
        return self.head(self.body(x))

