"""MLD, MLD-IN and MLD-UNI with a text modality (MNIST-SVHN-Text): the text autoencoder chosen by kind, its loss and
learning, and the models' text outputs (per-position probabilities)."""

import pytest
import torch
import torch.nn.functional as F

import mld  # noqa: F401  (registers the models)
from bench.data.dataset import MultimodalDataset
from bench.suites.mnist_svhn_text.data import ALPHABET, LENGTH, TEXT, digit_texts, with_text
from bench.errors import BenchError
from bench.health import HealthRule, TrainingMonitor
from bench.interface import build_model, generate_subsets, model_config
from mld.autoencoders import AE_KINDS, Autoencoder, AutoencoderConfig, build_autoencoders, train_autoencoder
from bench.suites.mnist_svhn_text.nets import autoencoder_networks as text_autoencoder
from tests.specs import spec_of, suite_spec

V = len(ALPHABET)
CPU = torch.device("cpu")
TINY_AE = AutoencoderConfig(latent_dim=8, hidden_dim=16, lr=2e-3, batch_size=32, epochs=1, likelihood="gaussian")


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread in these tests (the session's 2 can make these small convolutions many times slower on
    a busy 2-core machine, and 1 gives the same numbers everywhere), restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_text() -> MultimodalDataset:
    """64 tuples of random uint8 "mnist" (1, 28, 28) and "svhn" (3, 32, 32) images plus the digit names."""
    g = torch.Generator().manual_seed(0)
    n = 64
    images = {
        "mnist": torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8),
        "svhn": torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8),
    }
    return with_text(MultimodalDataset(images, torch.randint(0, 10, (n,), generator=g)), seed=0)


def assert_probabilities(x: torch.Tensor, rows: int) -> None:
    assert x.shape == (rows, LENGTH, V) and x.dtype == torch.float32
    assert bool((x >= 0).all())
    torch.testing.assert_close(x.sum(-1), torch.ones(rows, LENGTH))


def test_the_autoencoders_come_from_the_suite_by_kind(tiny_text):
    """MNIST-SVHN-Text's text modality gets the text autoencoder, its images MNIST-SVHN's; a suite without
    autoencoder networks for a kind is one clear error."""
    aes = build_autoencoders(spec_of(tiny_text, "mnist_svhn_text"), AutoencoderConfig(latent_dims=(16, 64, 16)))
    x = F.one_hot(tiny_text.images["text"][:5].long(), V).float()
    z = aes["text"].encoder(x)
    assert z.shape == (5, 16) and aes["text"].decoder(z).shape == (5, LENGTH, V)
    assert isinstance(aes["text"].encoder[1], torch.nn.Conv1d)
    assert aes["svhn"].encoder(torch.rand(5, 3, 32, 32)).shape == (5, 64)  # MNIST-SVHN's image networks
    with pytest.raises(BenchError, match="8"):
        text_autoencoder((16, V), latent_dim=16, hidden_dim=16)
    images_only = suite_spec("polymnist", ("m0", "text"), {"m0": (3, 28, 28), "text": (LENGTH, V)}, {"text": TEXT})
    with pytest.raises(BenchError, match="suite polymnist has no 'autoencoder' networks for text"):
        build_autoencoders(images_only, AutoencoderConfig(latent_dim=16))


def test_the_text_loss_is_the_cross_entropy_summed_over_positions():
    logits = torch.randn(4, LENGTH, V)
    tokens = torch.randint(0, V, (4, LENGTH))
    expected = F.cross_entropy(logits.transpose(1, 2), tokens, reduction="none").sum(1)
    text = AE_KINDS.get("text")
    torch.testing.assert_close(text.nll(TINY_AE, F.one_hot(tokens, V).float(), logits), expected)
    assert_probabilities(text.output(logits), 4)


def test_the_text_autoencoder_learns_to_reconstruct():
    labels = torch.randint(0, 10, (200,), generator=torch.Generator().manual_seed(1))
    tokens = digit_texts(labels, seed=1)
    ae = Autoencoder(*text_autoencoder(TEXT.model_shape, latent_dim=16, hidden_dim=16))
    cfg = AutoencoderConfig(latent_dim=16, lr=3e-3, batch_size=16, epochs=35)
    # near a loss of 0 the loss of a small batch jumps now and then (Adam), which the default rule would call a
    # divergence; this test is about learning
    monitor = TrainingMonitor("test", HealthRule(tolerance=1e9))
    losses = train_autoencoder(ae, tokens, cfg, seed=0, device=CPU, spec=TEXT, monitor=monitor, name="text")
    assert losses[-1] < 0.2 * losses[0]
    with torch.no_grad():
        predicted = ae(F.one_hot(tokens.long(), V).float()).argmax(-1)
    accuracy = (predicted == tokens.long()).float().mean().item()
    assert accuracy > 0.9, f"argmax accuracy {accuracy:.3f}"


@pytest.mark.parametrize("name", ["mld", "mld_in", "mld_uni"])
def test_models_fit_and_return_text_probabilities(name, tiny_text):
    spec = spec_of(tiny_text, "mnist_svhn_text")
    model = build_model(name, spec, "quick", epochs=1, autoencoder=TINY_AE)
    record = model.fit(tiny_text, seed=0, device=CPU)
    assert set(record.curves) == {"autoencoder mnist", "autoencoder svhn", "autoencoder text", "score"}
    x, _ = next(tiny_text.batches(6))
    observed = torch.tensor([[True, False, False], [False, True, False], [False, False, True],
                             [True, True, False], [False, True, True], [True, True, True]])
    out = model.generate(x, observed, generator=torch.Generator().manual_seed(0))
    assert out["mnist"].shape == (6, 1, 28, 28) and out["svhn"].shape == (6, 3, 32, 32)
    assert_probabilities(out["text"], 6)
    again = model.generate(x, observed, generator=torch.Generator().manual_seed(0))
    for m in model.modalities:
        assert torch.equal(out[m], again[m])
    # a fully observed row is the reconstruction: the softmax of the text decoder's logits
    torch.testing.assert_close(out["text"][5], torch.softmax(model.autoencoders["text"](x["text"][5:]), -1)[0])
    joint = model.sample(5, generator=torch.Generator().manual_seed(1))
    assert_probabilities(joint["text"], 5)
    assert joint["svhn"].shape == (5, 3, 32, 32) and 0 <= float(joint["svhn"].min()) <= float(joint["svhn"].max()) <= 1
    subsets = torch.tensor([[True, False, False], [False, False, True]])
    sub = generate_subsets(model, {m: v[:2] for m, v in x.items()}, subsets, torch.tensor([[False, True, True]] * 2),
                           generator=torch.Generator().manual_seed(2))
    assert set(sub) == {"svhn", "text"}
    assert_probabilities(sub["text"], 4)

    copy = build_model(name, spec, "quick", epochs=1, autoencoder=TINY_AE)
    copy.load_state_dict(model.state_dict())
    copy.eval()
    restored = copy.sample(5, generator=torch.Generator().manual_seed(1))
    for m in model.modalities:
        assert torch.equal(restored[m], joint[m])


def test_same_seed_same_model(tiny_text):
    spec = spec_of(tiny_text, "mnist_svhn_text")
    a, b = (build_model("mld", spec, "quick", epochs=1, autoencoder=TINY_AE) for _ in range(2))
    for model in (a, b):
        model.fit(tiny_text, seed=3, device=CPU)
    for (k, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(p, q), k


@pytest.mark.parametrize("name,width", [("mld", 256), ("mld_in", 512), ("mld_uni", 512)])
def test_mnist_svhn_text_presets(name, width):
    for scale in ("default", "paper"):
        cfg = model_config(name, "mnist_svhn_text", scale)
        assert cfg.autoencoder.dims(3) == (16, 64, 16)
        assert cfg == model_config(name, "mnist_svhn", scale, autoencoder=cfg.autoencoder)  # else as MNIST-SVHN
    assert model_config(name, "mnist_svhn_text", "paper").init_dim == width
