"""Per-modality classifiers used to score coherence, and as a feature net for FD ("FD-clf"): the designs a suite
chooses from for its ``"classifier"`` networks (``bench.networks``), one factory per design."""

from __future__ import annotations

from torch import Tensor, nn


# Layers a caller may ask for, as torch-fidelity's extractors declare theirs.
FEATURE_LAYERS = ("penultimate", "logits")


class BodyHeadClassifier(nn.Module):
    """A classifier as ``head(body(inputs(x)))``: ``body`` gives the 128-d *penultimate* features, the Linear
    ``head`` the logits; ``inputs`` adapts the kind's model-form input (unchanged for images)."""

    body: nn.Module
    head: nn.Module

    def inputs(self, x: Tensor) -> Tensor:
        return x

    def features(self, x: Tensor, layer: str = "penultimate") -> Tensor:
        """(B, 128) penultimate activations, or (B, n_classes) logits."""
        if layer not in FEATURE_LAYERS:
            raise ValueError(f"unknown feature layer {layer!r}; provided: {', '.join(FEATURE_LAYERS)}")
        h = self.body(self.inputs(x))
        return h if layer == "penultimate" else self.head(h)

    def forward(self, x: Tensor) -> Tensor:
        """(B, n_classes) logits."""
        return self.head(self.body(self.inputs(x)))


class DigitClassifier(BodyHeadClassifier):
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


class _ResidualBlock1d(nn.Module):
    """MoPoE's pre-activation 1-d residual block (``ResidualBlockEncoder`` with ``make_res_block_encoder``'s
    shortcut): branch BN -> ReLU -> 1x1 conv (c_in -> c_in) -> BN -> ReLU -> conv c_in -> c_out (k, s, p);
    shortcut conv c_in -> c_out (k, s, p) -> BN; output shortcut + 0.3 branch."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, padding: int) -> None:
        super().__init__()
        self.branch = nn.Sequential(
            nn.BatchNorm1d(c_in),
            nn.ReLU(),
            nn.Conv1d(c_in, c_in, kernel_size=1),
            nn.BatchNorm1d(c_in),
            nn.ReLU(),
            nn.Conv1d(c_in, c_out, kernel_size=kernel_size, stride=stride, padding=padding),
        )
        self.shortcut = nn.Sequential(
            nn.Conv1d(c_in, c_out, kernel_size=kernel_size, stride=stride, padding=padding),
            nn.BatchNorm1d(c_out),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.shortcut(x) + 0.3 * self.branch(x)


class TextClassifier(BodyHeadClassifier):
    """MNIST-SVHN-Text ``ClfText`` (MoPoE ``mnistsvhntext/networks/ConvNetworkTextClf.py``, ``dim`` 64), input one-hot
    text (B, L, V) (L = 8 characters over an alphabet of V = 71), read as V channels of length L:

    Conv1d V->128 (k1) -> L 8; residual block 128->192 (k4, s2, p1) -> L 4; residual block 192->128 (k4, s2, p0)
    -> L 1 (each block BN->ReLU->1x1 conv->BN->ReLU->conv plus a conv+BN shortcut, output shortcut + 0.3 branch);
    Dropout 0.5; flatten to 128 (the *penultimate* features) -> Linear 10 (logits).

    Deviation: MoPoE ends in a sigmoid over 10 independent outputs (its ``utils/loss.py`` BCE suggests it was trained
    with BCE; its pretrained weights ship without training code and cannot be reproduced). This one returns logits,
    trained with cross-entropy by ``classifiers.train`` like the image classifiers; the prediction is the argmax in
    both. Its BatchNorm layers make it read batches of at least 2 in training (``MIN_BATCH``) and use running
    statistics in eval mode.
    """

    MIN_BATCH = 2  # the last block's shortcut BatchNorm sees one value per channel and item

    def __init__(self, vocab_size: int = 71, n_classes: int = 10, length: int = 8) -> None:
        super().__init__()
        after = (length + 2 - 4) // 2 + 1  # k4 s2 p1
        after = (after - 4) // 2 + 1 if after >= 4 else 0  # k4 s2 p0
        if after != 1:
            raise ValueError(f"the text classifier reduces a length of 8 to 11 characters to 1; got {length}")
        self.body = nn.Sequential(
            nn.Conv1d(vocab_size, 128, kernel_size=1),
            _ResidualBlock1d(128, 192, kernel_size=4, stride=2, padding=1),
            _ResidualBlock1d(192, 128, kernel_size=4, stride=2, padding=0),
            nn.Dropout(0.5),
            nn.Flatten(),
        )
        self.head = nn.Linear(128, n_classes)

    def inputs(self, x: Tensor) -> Tensor:
        """(B, L, V) one-hot -> (B, V, L): the alphabet as channels."""
        return x.transpose(-2, -1)


FAMILY = "classifier"
"""The classifiers' family of a suite's networks (``bench.networks``): ``make(shape, *, n_classes) -> module`` with
``forward(x) -> logits (B, n_classes)`` and ``features(x, layer)`` (``FEATURE_LAYERS``, 128-d penultimate) over the
modality's model-form inputs of ``shape``; untrained, on the CPU, in train mode."""


def digit_classifier(shape: tuple[int, ...], *, n_classes: int = 10) -> DigitClassifier:
    """``DigitClassifier`` for (C, S, S) images."""
    return DigitClassifier(in_channels=shape[0], n_classes=n_classes, image_size=shape[-1])


def text_classifier(shape: tuple[int, ...], *, n_classes: int = 10) -> TextClassifier:
    """``TextClassifier`` for one-hot strings (L, V)."""
    length, vocab_size = shape
    return TextClassifier(vocab_size, n_classes=n_classes, length=length)
