"""Text modalities in the multimodal VAEs: the text networks (``KIND_NETS["text"]``), the choice of networks and
likelihood per modality kind, the categorical likelihood, and a tiny MoPoE that learns text on MNIST-SVHN-Text."""

import pytest
import torch
from torch.distributions import Categorical

import baselines  # noqa: F401  (registers the models)
from baselines.nets import networks
from baselines.outputs import OUTPUTS
from bench.likelihoods import categorical_nll
from baselines.vae import MultimodalVAE
from bench.data.dataset import MultimodalDataset
from bench.suites.mnist_svhn_text.data import ALPHABET, LENGTH, TEXT, with_text
from bench.errors import BenchError
from bench.interface import DataSpec, build_model, model_config
from bench.likelihoods import laplace_nll
from bench.registry import MODELS
from bench.suites.mnist_svhn.nets import vae_networks as image_networks
from bench.suites.mnist_svhn_text.nets import vae_networks as text_networks
from tests.specs import spec_of, suite_spec

V = len(ALPHABET)


def tiny_tuples(n: int, seed: int) -> MultimodalDataset:
    """``n`` MNIST-SVHN-Text tuples with random images (mnist 1x28x28, svhn 3x32x32) and the labels' digit names."""
    g = torch.Generator().manual_seed(seed)
    images = {"mnist": torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8),
              "svhn": torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)}
    return with_text(MultimodalDataset(images, torch.randint(0, 10, (n,), generator=g)), seed=seed)


def text_spec(ds: MultimodalDataset) -> DataSpec:
    return spec_of(ds, "mnist_svhn_text")


def test_text_networks_shapes_and_width():
    encoder, decoder = text_networks((LENGTH, V), latent_dim=12)
    mu, logvar = encoder(torch.nn.functional.one_hot(torch.randint(0, V, (5, LENGTH)), V).float())
    assert mu.shape == logvar.shape == (5, 12)
    assert decoder(torch.randn(5, 12)).shape == (5, LENGTH, V)
    convs = [m for m in encoder.modules() if isinstance(m, torch.nn.Conv1d)]
    assert [c.out_channels for c in convs] == [128, 128, 128] and convs[0].in_channels == V
    half, _ = text_networks((LENGTH, V), latent_dim=12, width=0.5)
    assert [m.out_channels for m in half.modules() if isinstance(m, torch.nn.Conv1d)] == [64, 64, 64]
    with pytest.raises(BenchError, match="one-hot strings"):
        text_networks((10, V), latent_dim=12)


def test_networks_come_from_the_suite_by_kind():
    """Each modality takes the suite's "vae" networks of its kind: MNIST-SVHN-Text's images are MNIST-SVHN's, its text
    the text networks; a suite without networks for a kind is one clear error naming the suite and the kind."""
    spec = text_spec(tiny_tuples(4, 0))
    for m, reference in (("mnist", image_networks((1, 28, 28), latent_dim=6)),
                         ("svhn", image_networks((3, 32, 32), latent_dim=6)),
                         ("text", text_networks((LENGTH, V), latent_dim=6))):
        encoder, decoder = networks(spec, m, 6)
        assert [p.shape for p in encoder.parameters()] == [p.shape for p in reference[0].parameters()]
        assert [p.shape for p in decoder.parameters()] == [p.shape for p in reference[1].parameters()]
    model = build_model("mopoe", spec, "quick")
    assert {m: out.name for m, out in model.output_kinds.items()} == {"mnist": "image", "svhn": "image", "text": "text"}
    images_only = suite_spec("polymnist", ("m0", "text"), {"m0": (3, 28, 28), "text": (LENGTH, V)}, {"text": TEXT})
    with pytest.raises(BenchError, match="suite polymnist has no 'vae' networks for text"):
        networks(images_only, "text", 6)


def test_categorical_nll_is_the_categorical_with_logits():
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, V, (6, LENGTH), generator=g)
    x = torch.nn.functional.one_hot(tokens, V).float()
    logits = torch.randn(3, 6, LENGTH, V, generator=g) * 3  # (K, B, L, V): broadcasting over a sample dim
    expected = -Categorical(logits=logits).log_prob(tokens).sum(dim=-1)
    torch.testing.assert_close(categorical_nll(x, logits), expected)
    model = build_model("mopoe", text_spec(tiny_tuples(4, 0)), "quick")
    torch.testing.assert_close(model.nll(x, logits[0], "text"), expected[0])


def test_image_likelihood_is_unchanged():
    """An image modality's term is the config's Laplace / Gaussian, exactly as before kinds existed."""
    model = build_model("mopoe", text_spec(tiny_tuples(4, 0)), "paper")
    x, loc = torch.rand(4, 3, 32, 32), torch.randn(4, 3, 32, 32)
    assert torch.equal(model.nll(x, loc, "svhn"), laplace_nll(x, loc, 0.75))
    assert torch.equal(OUTPUTS.get("image").generation(loc), loc.clamp(0.0, 1.0))


def test_text_generation_is_softmax_probabilities():
    logits = torch.randn(4, LENGTH, V, dtype=torch.float64) * 5
    probs = OUTPUTS.get("text").generation(logits)
    assert probs.dtype == torch.float32 and probs.shape == (4, LENGTH, V)
    torch.testing.assert_close(probs.sum(dim=-1), torch.ones(4, LENGTH))
    torch.testing.assert_close(probs, logits.float().softmax(dim=-1))


@pytest.mark.parametrize("name", [n for n in MODELS.names() if issubclass(MODELS.get(n), MultimodalVAE)])
def test_mnist_svhn_text_presets_weight_text_by_its_length(name):
    """MoPoE's ``set_rec_weights``: numel(SVHN) / numel(m), a text's numel being its length 8."""
    cfg = model_config(name, "mnist_svhn_text", "paper")
    assert cfg.rec_weights == (3.92, 1.0, 3072 / 8)
    assert cfg.latent_dim == model_config(name, "mnist_svhn", "paper").latent_dim


def test_mopoe_paper_preset_is_the_mnistsvhntext_job_script():
    cfg = model_config("mopoe", "mnist_svhn_text", "paper")
    assert (cfg.latent_dim, cfg.beta, cfg.batch_size, cfg.lr, cfg.epochs) == (20, 2.5, 256, 1e-3, 200)
    assert model_config("mopoe", "mnist_svhn", "paper").lr == 5e-4  # MNIST-SVHN keeps its value


def test_tiny_mopoe_learns_text():
    """Given only its text, a tiny MoPoE trained on 200 tuples (random images beside the digit names) reconstructs
    the string exactly for most tuples (0.99 of them when written; per position 0.999). At the quick preset's batch 64
    and Adam 2e-3 the text posterior starts to carry the string only after about 400 steps; batch 32 and 5e-3 get
    there in fewer seconds."""
    train = tiny_tuples(200, 0)
    model = build_model("mopoe", text_spec(train), "quick", epochs=90, batch_size=32, lr=5e-3)  # 630 steps
    record = model.fit(train, seed=0, device=torch.device("cpu"), progress=False)
    assert record.extra["rec"][-1] < record.extra["rec"][0]
    x, _ = next(train.batches(len(train)))
    given_text = torch.zeros(len(train), 3, dtype=torch.bool)
    given_text[:, 2] = True
    probs = model.generate(x, given_text, generator=torch.Generator().manual_seed(0))["text"]
    torch.testing.assert_close(probs.sum(dim=-1), torch.ones(len(train), LENGTH))
    exact = (probs.argmax(dim=-1) == train.images["text"].long()).all(dim=1).float().mean()
    assert exact > 0.9, f"only {exact:.2f} of the strings come back from their text"
    assert train.specs["text"] == TEXT
