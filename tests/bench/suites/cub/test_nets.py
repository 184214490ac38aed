"""The CUB networks of every family take 3x64x64 images and one-hot captions (32, V) to the shapes their families'
contracts name (``bench.networks``), at the reference width and narrower, and refuse other shapes with one clear
error."""

import pytest
import torch
import torch.nn.functional as F

from bench.data.kinds import ModalitySpec
from bench.data.kinds.sentence import SPECIAL
from bench.errors import BenchError
from bench.suites.cub.nets import NETWORKS

V = 40
IMAGE = ModalitySpec("image", (3, 64, 64))
CAPTION = ModalitySpec("sentence", (32,), vocabulary=(*SPECIAL, *(f"w{i}" for i in range(V - 3))))


def inputs(batch: int = 3) -> dict:
    return {"image": torch.rand(batch, 3, 64, 64),
            "caption": F.one_hot(torch.randint(0, V, (batch, 32)), V).float()}


@pytest.mark.parametrize("width", [1.0, 0.25])
def test_vae_and_autoencoder_networks_round_trip_both_modalities(width):
    x = inputs()
    for name, spec in (("image", IMAGE), ("caption", CAPTION)):
        encoder, decoder = NETWORKS.build("vae", spec, latent_dim=16, width=width)
        mu, logvar = encoder(x[name])
        assert mu.shape == logvar.shape == (3, 16)
        assert decoder(mu).shape == x[name].shape
        encoder, decoder = NETWORKS.build("autoencoder", spec, latent_dim=24, hidden_dim=0, width=width)
        z = encoder(x[name])
        assert z.shape == (3, 24) and decoder(z).shape == x[name].shape


def test_classifiers_give_logits_and_128_d_features():
    x = inputs()
    for name, spec in (("image", IMAGE), ("caption", CAPTION)):
        clf = NETWORKS.build("classifier", spec, n_classes=7).eval()
        assert clf(x[name]).shape == (3, 7) and clf.features(x[name]).shape == (3, 128)


def test_the_reference_image_vae_has_mmvae_s_channels():
    encoder, _ = NETWORKS.build("vae", IMAGE, latent_dim=64)
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512]
    assert encoder.mu.in_features == 512 * 4 * 4


def test_other_shapes_are_refused():
    with pytest.raises(BenchError, match=r"\(3, 64, 64\)"):
        NETWORKS.build("vae", ModalitySpec("image", (3, 32, 32)), latent_dim=8)
    with pytest.raises(BenchError, match="max_length=32"):
        NETWORKS.build("autoencoder", ModalitySpec("sentence", (16,), vocabulary=CAPTION.vocabulary), latent_dim=8,
                       hidden_dim=0)


def test_the_attribute_classifiers_learn_the_stand_in_s_attributes_from_images_and_from_captions():
    from bench.suites.cub.standin import LABELS, stand_in_split
    from classifiers.train import ClassifierConfig, classifier_accuracy, train_classifiers

    train, vocabulary = stand_in_split(400, captions_per_image=2, seed=0)
    test, _ = stand_in_split(100, captions_per_image=1, seed=1, vocabulary=vocabulary)
    clfs, _ = train_classifiers(train, ClassifierConfig(epochs=6, batch_size=32, lr=2e-3), networks=NETWORKS,
                                label_space=LABELS, seed=0)
    accuracy = classifier_accuracy(clfs, test, LABELS)
    assert accuracy["caption"] > 0.95  # the captions name every attribute
    assert accuracy["image"] > LABELS.chance + 0.2, accuracy  # chance 0.3
