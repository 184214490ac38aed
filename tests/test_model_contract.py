"""Every registered model honours the shared interface (bench/interface.py) at its quick scale."""

import pytest
import torch

import baselines  # noqa: F401  (registers the models)
import mld  # noqa: F401  (registers the MLD models)
from bench.interface import DataSpec, MultimodalModel, build_model, generate_subsets
from bench.metrics.coherence import scored_pairs
from bench.metrics.subsets import all_subsets
from bench.registry import MODELS
from tests.specs import spec_of

MODEL_NAMES = MODELS.names()


@pytest.fixture(scope="module", params=MODEL_NAMES)
def trained(request, tiny_polymnist):
    train, test = tiny_polymnist
    model = build_model(request.param, spec_of(train), "quick")
    record = model.fit(train, seed=0, device=torch.device("cpu"), progress=False)
    return request.param, model, record, test


def mixed_masks(n: int, m: int) -> torch.Tensor:
    """Row b observes the subset whose bit pattern is (b mod (2^m - 1)) + 1: every subset appears."""
    codes = torch.arange(n) % (2**m - 1) + 1
    return (codes[:, None] >> torch.arange(m)) & 1 == 1


def test_registered_model_satisfies_protocol(trained):
    _, model, _, _ = trained
    assert isinstance(model, MultimodalModel)


def test_fit_reports_a_falling_finite_loss(trained):
    _, _, record, _ = trained
    losses = torch.tensor(record.losses)
    assert len(losses) >= 2 and torch.isfinite(losses).all()
    assert losses[-1] < losses[0]
    assert record.steps > 0 and record.seconds > 0


def test_generate_under_mixed_masks(trained):
    _, model, _, test = trained
    x, _ = next(test.batches(21))
    observed = mixed_masks(21, len(model.modalities))
    out = model.generate(x, observed, generator=torch.Generator().manual_seed(0))
    assert set(out) == set(model.modalities)
    for m in model.modalities:
        assert out[m].shape == x[m].shape and out[m].dtype == torch.float32
        assert 0.0 <= out[m].min() and out[m].max() <= 1.0


def test_generate_subsets_equals_generate_on_the_expanded_batch(trained):
    """A native ``generate_subsets`` (encode once, decode only wanted rows) gives the fallback's images: the same
    noise in the same order, and float differences only from batch sizes (well below one uint8 step)."""
    name, model, _, test = trained
    x, _ = next(test.batches(6))
    subsets = all_subsets(len(model.modalities))
    targets = scored_pairs(len(model.modalities))
    targets[-1, 0] = True  # one reconstruction from the full set too
    native = generate_subsets(model, x, subsets, targets, generator=torch.Generator().manual_seed(3))
    fallback = generate_subsets(FallbackOnly(model), x, subsets, targets, generator=torch.Generator().manual_seed(3))
    assert hasattr(model, "generate_subsets"), f"{name} lacks the native path"
    assert set(native) == set(fallback) == set(model.modalities)
    for t, m in enumerate(model.modalities):
        assert native[m].shape == (int(targets[:, t].sum()) * 6, *test.shapes[m])
        torch.testing.assert_close(native[m], fallback[m], rtol=0, atol=1e-4)


class FallbackOnly:
    """``model`` seen without its ``generate_subsets``."""

    def __init__(self, model):
        self.modalities, self.generate = model.modalities, model.generate


def test_sample_shapes_and_range(trained):
    _, model, _, test = trained
    out = model.sample(5, generator=torch.Generator().manual_seed(0))
    for m, shape in test.shapes.items():
        assert out[m].shape == (5, *shape) and out[m].dtype == torch.float32
        assert 0.0 <= out[m].min() and out[m].max() <= 1.0


def test_seeded_outputs_are_deterministic(trained):
    _, model, _, test = trained
    x, _ = next(test.batches(14))
    observed = mixed_masks(14, len(model.modalities))
    a = model.generate(x, observed, generator=torch.Generator().manual_seed(1))
    b = model.generate(x, observed, generator=torch.Generator().manual_seed(1))
    c = model.generate(x, observed, generator=torch.Generator().manual_seed(2))
    assert all(torch.equal(a[m], b[m]) for m in model.modalities)
    assert any(not torch.equal(a[m], c[m]) for m in model.modalities)
    s1 = model.sample(4, generator=torch.Generator().manual_seed(1))
    s2 = model.sample(4, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(s1[m], s2[m]) for m in model.modalities)


def test_unobserved_inputs_are_ignored(trained):
    _, model, _, test = trained
    x, _ = next(test.batches(14))
    observed = mixed_masks(14, len(model.modalities))
    scrambled = {m: torch.where(observed[:, i, None, None, None], v, torch.rand_like(v)) for i, (m, v) in enumerate(x.items())}
    a = model.generate(x, observed, generator=torch.Generator().manual_seed(0))
    b = model.generate(scrambled, observed, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a[m], b[m]) for m in model.modalities)


def test_the_given_modality_drives_its_output(trained):
    """With the same noise, replacing only the given modality's input changes the output for it, and the output for
    a given modality differs from the one inferred from another modality. (Whether it is reconstructed well is a
    learning question: a quick-scale model has taken a handful of steps; the self-reconstruction column of every run
    and the per-model learning tests check it.)"""
    _, model, _, test = trained
    x, _ = next(test.batches(len(test)))
    n, first = len(test), model.modalities[0]
    given = torch.zeros(n, len(model.modalities), dtype=torch.bool)
    given[:, 0] = True
    inferred = torch.zeros_like(given)
    inferred[:, 1] = True
    swapped = {m: v.roll(1, 0) if m == first else v for m, v in x.items()}

    def out(inputs, observed):
        return model.generate(inputs, observed, generator=torch.Generator().manual_seed(0))[first]

    reference = out(x, given)
    assert (reference - out(swapped, given)).abs().mean() > 1e-4
    assert (reference - out(x, inferred)).abs().mean() > 1e-4


def test_state_dict_round_trip_gives_identical_outputs(trained):
    name, model, _, test = trained
    clone = build_model(name, spec_of(test), "quick")
    clone.load_state_dict(model.state_dict())
    clone.eval()
    x, _ = next(test.batches(14))
    observed = mixed_masks(14, len(model.modalities))
    a = model.generate(x, observed, generator=torch.Generator().manual_seed(0))
    b = clone.generate(x, observed, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a[m], b[m]) for m in model.modalities)
    sa = model.sample(3, generator=torch.Generator().manual_seed(0))
    sb = clone.sample(3, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(sa[m], sb[m]) for m in model.modalities)


@pytest.fixture(scope="module")
def tiny_mnist_svhn():
    """64 / 21 random pairs with MNIST-SVHN shapes (1x28x28 and 3x32x32): enough to check the plumbing."""
    from bench.data.dataset import MultimodalDataset

    g = torch.Generator().manual_seed(0)

    def pairs(n):
        images = {"mnist": torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8),
                  "svhn": torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)}
        return MultimodalDataset(images, torch.randint(0, 10, (n,), generator=g))

    return pairs(64), pairs(21)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_every_model_takes_modalities_of_different_shapes(name, tiny_mnist_svhn):
    """MNIST-SVHN's networks (bench/suites/mnist_svhn/nets.py) under its presets."""
    train, test = tiny_mnist_svhn
    spec = spec_of(train, "mnist_svhn")
    model = build_model(name, spec, "quick")
    record = model.fit(train, seed=0, device=torch.device("cpu"), progress=False)
    assert record.steps > 0 and torch.isfinite(torch.tensor(record.losses)).all()
    x, _ = next(test.batches(21))
    out = model.generate(x, mixed_masks(21, 2), generator=torch.Generator().manual_seed(0))
    joint = model.sample(3, generator=torch.Generator().manual_seed(0))
    for m, shape in train.shapes.items():
        assert out[m].shape == (21, *shape) and joint[m].shape == (3, *shape)
        assert 0.0 <= out[m].min() and out[m].max() <= 1.0


# -- a text modality beside images (MNIST-SVHN-Text) ------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_mnist_svhn_text(tiny_mnist_svhn):
    """The random MNIST-SVHN-shaped pairs with each label's digit name as a third, text modality (8 characters
    over 71)."""
    from bench.suites.mnist_svhn_text.data import with_text

    train, test = tiny_mnist_svhn
    return with_text(train, seed=0), with_text(test, seed=1)


def text_spec_of(ds) -> DataSpec:
    return spec_of(ds, "mnist_svhn_text")


@pytest.fixture(scope="module", params=MODEL_NAMES)
def trained_text(request, tiny_mnist_svhn_text):
    train, test = tiny_mnist_svhn_text
    model = build_model(request.param, text_spec_of(train), "quick")
    record = model.fit(train, seed=0, device=torch.device("cpu"), progress=False)
    return request.param, model, record, test


def check_outputs(out, test, n):
    """Every modality (n, *shape) float32: images in [0, 1], text per-position probabilities (rows summing to 1)."""
    assert set(out) == set(test.modalities)
    for m, shape in test.shapes.items():
        assert out[m].shape == (n, *shape) and out[m].dtype == torch.float32
        assert 0.0 <= out[m].min() and out[m].max() <= 1.0
        if test.kinds[m] == "text":
            torch.testing.assert_close(out[m].sum(dim=-1), torch.ones(n, shape[0]))


def test_text_modality_fits_and_generates(trained_text):
    _, model, record, test = trained_text
    assert test.shapes["text"] == (8, 71) and test.kinds["text"] == "text"
    assert record.steps > 0 and torch.isfinite(torch.tensor(record.losses)).all()
    x, _ = next(test.batches(21))
    check_outputs(model.generate(x, mixed_masks(21, 3), generator=torch.Generator().manual_seed(0)), test, 21)
    check_outputs(model.sample(5, generator=torch.Generator().manual_seed(0)), test, 5)


def test_text_modality_outputs_are_deterministic(trained_text):
    _, model, _, test = trained_text
    x, _ = next(test.batches(14))
    observed = mixed_masks(14, 3)
    a = model.generate(x, observed, generator=torch.Generator().manual_seed(1))
    b = model.generate(x, observed, generator=torch.Generator().manual_seed(1))
    c = model.generate(x, observed, generator=torch.Generator().manual_seed(2))
    assert all(torch.equal(a[m], b[m]) for m in model.modalities)
    assert not torch.equal(a["text"], c["text"])
    s1 = model.sample(4, generator=torch.Generator().manual_seed(1))
    s2 = model.sample(4, generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(s1[m], s2[m]) for m in model.modalities)


def test_text_modality_generate_subsets_equals_generate(trained_text):
    _, model, _, test = trained_text
    x, _ = next(test.batches(6))
    subsets, targets = all_subsets(3), scored_pairs(3)
    native = generate_subsets(model, x, subsets, targets, generator=torch.Generator().manual_seed(3))
    fallback = generate_subsets(FallbackOnly(model), x, subsets, targets, generator=torch.Generator().manual_seed(3))
    for t, m in enumerate(model.modalities):
        assert native[m].shape == (int(targets[:, t].sum()) * 6, *test.shapes[m])
        torch.testing.assert_close(native[m], fallback[m], rtol=0, atol=1e-4)


def test_text_modality_unobserved_inputs_are_ignored_and_given_text_matters(trained_text):
    _, model, _, test = trained_text
    x, _ = next(test.batches(14))
    observed = mixed_masks(14, 3)
    scrambled = {m: torch.where(observed[:, i].view(-1, *[1] * (v.ndim - 1)), v, torch.rand_like(v))
                 for i, (m, v) in enumerate(x.items())}
    a = model.generate(x, observed, generator=torch.Generator().manual_seed(0))
    b = model.generate(scrambled, observed, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a[m], b[m]) for m in model.modalities)
    given_text = torch.zeros(14, 3, dtype=torch.bool)
    given_text[:, 2] = True
    swapped = {**x, "text": x["text"].roll(1, 0)}
    out = model.generate(x, given_text, generator=torch.Generator().manual_seed(0))["text"]
    # after two steps the text barely moves the output (about 1e-6), but it does
    assert not torch.equal(out, model.generate(swapped, given_text, generator=torch.Generator().manual_seed(0))["text"])


def test_text_modality_state_dict_round_trip(trained_text):
    name, model, _, test = trained_text
    clone = build_model(name, text_spec_of(test), "quick")
    clone.load_state_dict(model.state_dict())
    clone.eval()
    x, _ = next(test.batches(14))
    observed = mixed_masks(14, 3)
    a = model.generate(x, observed, generator=torch.Generator().manual_seed(0))
    b = clone.generate(x, observed, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a[m], b[m]) for m in model.modalities)
    sa = model.sample(3, generator=torch.Generator().manual_seed(0))
    sb = clone.sample(3, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(sa[m], sb[m]) for m in model.modalities)
