"""PolyMNIST's networks: the VAEs' encoder/decoder (MoPoE design) and MLD's autoencoders (MLD code design)."""

import pytest
import torch

from bench.errors import BenchError
from bench.suites.polymnist.nets import autoencoder_networks, vae_networks


class TestVAENetworks:
    def test_polymnist_shapes(self):
        encoder, decoder = vae_networks((3, 28, 28), latent_dim=12)
        mu, logvar = encoder(torch.rand(5, 3, 28, 28))
        assert mu.shape == logvar.shape == (5, 12)
        assert decoder(torch.randn(5, 12)).shape == (5, 3, 28, 28)

    def test_hidden_width_stays_at_the_paper_value(self):
        """Only the heads shrink with D: a D-wide hidden layer dies at small D (bench/suites/polymnist/nets.py)."""
        encoder, _ = vae_networks((3, 28, 28), latent_dim=8)
        assert encoder.mu.in_features == encoder.logvar.in_features == 512 and encoder.mu.out_features == 8

    def test_decoder_has_no_sigmoid(self):
        _, decoder = vae_networks((3, 28, 28), latent_dim=4)
        loc = decoder(torch.randn(64, 4) * 50)
        assert loc.min() < 0 or loc.max() > 1

    def test_wrong_shape_is_a_bench_error(self):
        with pytest.raises(BenchError, match="28"):
            vae_networks((3, 32, 32), latent_dim=8)


class TestAutoencoderNetworks:
    def test_reference_architecture_shapes(self):
        encoder, decoder = autoencoder_networks((3, 28, 28), latent_dim=160, hidden_dim=160)
        z = encoder(torch.rand(2, 3, 28, 28))
        assert z.shape == (2, 160)
        assert decoder(z).shape == (2, 3, 28, 28)
        assert isinstance(decoder[-1], torch.nn.ConvTranspose2d)  # no output sigmoid

    def test_wrong_image_shape_is_a_clear_error(self):
        with pytest.raises(BenchError, match="28x28"):
            autoencoder_networks((3, 32, 32), latent_dim=16, hidden_dim=16)
