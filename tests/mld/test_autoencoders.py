import pytest
import torch

from bench.errors import BenchError
from bench.interface import DataSpec
from mld.autoencoders import AutoencoderConfig, build_autoencoders, train_autoencoders
from mld.nets import AE_NETS


def spec_of(ds) -> DataSpec:
    return DataSpec(name="polymnist", modalities=ds.modalities, shapes=ds.shapes)


def test_reference_architecture_shapes():
    encoder, decoder = AE_NETS.get("polymnist")((3, 28, 28), 160, 160)
    z = encoder(torch.rand(2, 3, 28, 28))
    assert z.shape == (2, 160)
    assert decoder(z).shape == (2, 3, 28, 28)
    assert isinstance(decoder[-1], torch.nn.ConvTranspose2d)  # no output sigmoid


def test_wrong_image_shape_is_a_clear_error():
    with pytest.raises(BenchError, match="28x28"):
        AE_NETS.get("polymnist")((3, 32, 32), 16, 16)


def test_autoencoders_learn_and_are_seeded(tiny_polymnist):
    train, _ = tiny_polymnist
    cfg = AutoencoderConfig(latent_dim=8, hidden_dim=32, lr=2e-3, batch_size=32, epochs=3)
    aes = build_autoencoders(spec_of(train), cfg)
    record = train_autoencoders(aes, train, cfg, seed=0, device=torch.device("cpu"))
    for m in train.modalities:
        losses = record["losses"][m]
        assert len(losses) == 3 and losses[-1] < 0.8 * losses[0]
    again = build_autoencoders(spec_of(train), cfg)
    train_autoencoders(again, train, cfg, seed=0, device=torch.device("cpu"))
    for a, b in zip(aes.parameters(), again.parameters()):
        assert torch.equal(a, b)
    # each modality gets its own seed: the first layers differ between modalities
    first = [aes[m].encoder[0].weight for m in train.modalities]
    assert not torch.equal(first[0], first[1])
