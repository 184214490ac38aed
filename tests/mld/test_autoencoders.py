import math

import pytest
import torch

from bench.errors import BenchError
from tests.specs import spec_of
from mld.autoencoders import AutoencoderConfig, build_autoencoders, train_autoencoders


def test_autoencoders_learn_and_are_seeded(tiny_polymnist):
    train, _ = tiny_polymnist
    cfg = AutoencoderConfig(latent_dim=8, hidden_dim=32, lr=2e-3, batch_size=32, epochs=3)
    aes = build_autoencoders(spec_of(train), cfg)
    record = train_autoencoders(aes, train, cfg, seed=0, device=torch.device("cpu"))
    constant = 3 * 28 * 28 * math.log(2 * cfg.laplace_scale)  # the NLL's ln(2 s) per pixel
    for m in train.modalities:
        losses = [loss - constant for loss in record["losses"][m]]  # sum |x - x^| / s
        assert len(losses) == 3 and losses[-1] < 0.8 * losses[0]
    again = build_autoencoders(spec_of(train), cfg)
    train_autoencoders(again, train, cfg, seed=0, device=torch.device("cpu"))
    for a, b in zip(aes.parameters(), again.parameters()):
        assert torch.equal(a, b)
    # each modality gets its own seed: the first layers differ between modalities
    first = [aes[m].encoder[0].weight for m in train.modalities]
    assert not torch.equal(first[0], first[1])


def test_the_gaussian_likelihood_is_the_squared_error(tiny_polymnist):
    train, _ = tiny_polymnist
    cfg = AutoencoderConfig(latent_dim=8, hidden_dim=32, likelihood="gaussian", gaussian_std=0.5, width=0.5)
    ae = build_autoencoders(spec_of(train), cfg)["m0"]
    assert ae.encoder[0].out_channels == 16  # width 0.5 halves the reference's 32
    x = torch.rand(4, 3, 28, 28)
    loc = ae(x)
    expected = ((x - loc) ** 2).sum(dim=(1, 2, 3)) / (2 * 0.25) + 3 * 28 * 28 * math.log(0.5 * math.sqrt(2 * math.pi))
    torch.testing.assert_close(cfg.nll(x, loc), expected)
    with pytest.raises(BenchError, match="likelihood"):
        AutoencoderConfig(likelihood="poisson")
