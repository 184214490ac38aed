"""``MultiVaeModel`` (``baselines.multivae_adapter``) wrapping the MultiVae twin of one of our trained models
(``baselines.multivae_compat``: the same networks), both driven by generators with the same seed, on the CPU.

Equal:
- MoPoE, MVTCAE, MVAE: ``generate`` images to 1e-6 and ``sample`` images exactly, over consecutive calls on one
  generator, and the whole coherence result (every (subset, target) entry, joint coherence, joint class counts). The
  noise is the same draw for draw (blocks of 8 rows x 16 latents; ``test_cpu_randn_concatenates_in_blocks_of_16``);
  the images differ by float rounding in the subset posterior (MultiVae's PoE adds 1e-8 to every variance and divides,
  ours works in log space; measured at most 2.4e-7).
- MMVAE (DReG) and MMVAE+: ``sample`` images to 1e-4 on a fresh generator (the same uniforms; MultiVae turns them
  into Laplace noise through u ~ U(eps - 1, 1) and its prior scales carry +1e-6; measured at most 1.3e-6).

Pinned difference (MMVAE, MMVAE+): conditional generation. MultiVae's ``encode`` conditions the whole call on ONE
expert drawn with numpy (``np.random.choice(cond_mod)``), so the adapter uses one expert per subset group; ours draws
one per row from the generator, and that extra draw also shifts all later noise, joint samples included. The two
coherences are then different estimates of the same quantity: on this setup (60 test tuples, near-chance models) the
measured gaps are at most 3/60 per (subset, target) pair and 0.022 for the per-size means and self-coherence (joint
coherence equal); the test allows 0.2 and 0.1, at least 2.5 standard deviations of the gap between two independent
estimates of these sizes.

The classifiers are nearest class means of the train split: DigitClassifiers trained in a second on 150 tuples read
nearly every blurry generation as one digit, class means read them as a few different digits.
"""

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("multivae.models", reason="MultiVae is not installed: pip install -e '.[multivae]'")

import baselines  # noqa: E402,F401  (registers the models)
from baselines.multivae_adapter import MultiVaeModel  # noqa: E402
from baselines.multivae_compat import multivae_twin  # noqa: E402
from bench.errors import BenchError  # noqa: E402
from bench.interface import MultimodalModel, generate_subsets  # noqa: E402
from bench.metrics.coherence import evaluate_coherence  # noqa: E402
from bench.metrics.subsets import all_subsets  # noqa: E402
from bench.registry import MODELS  # noqa: E402
from bench.store import stable_hash  # noqa: E402
from tests.specs import suite_spec
from bench.interface import model_config

MODALITIES = ("m0", "m1", "m2")
EXACT = ["mopoe", "mvtcae", "mvae"]
MIXTURES = ["mmvae", "mmvae_plus"]
B = 8  # rows per subset block: 8 x 16 latents = 128 normals, a multiple of 16


class ClassMeans(nn.Module):
    """Nearest class mean in pixel space: logits -||x - mu_c||^2 + ||x||^2."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        super().__init__()
        flat = images.flatten(1)
        self.register_buffer("means", torch.stack([flat[labels == c].mean(0) for c in range(10)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * x.flatten(1) @ self.means.T - self.means.pow(2).sum(1)


@pytest.fixture(scope="module")
def classifiers(tiny_polymnist):
    train, _ = tiny_polymnist
    (x, y), = train.batches(len(train))
    return {m: ClassMeans(x[m], y) for m in MODALITIES}


@pytest.fixture(scope="module")
def trained(tiny_polymnist):
    """name -> (ours trained 3 epochs at the quick preset, D = 16; the adapter around its MultiVae twin)."""
    train, _ = tiny_polymnist
    spec = suite_spec("polymnist", MODALITIES, {m: (3, 28, 28) for m in MODALITIES})
    cache = {}

    def get(name: str):
        if name not in cache:
            cls = MODELS.get(name)
            ours = cls(spec, model_config(name, "polymnist", "quick", latent_dim=16, epochs=3))
            ours.fit(train, seed=0)
            cache[name] = ours, MultiVaeModel(multivae_twin(ours))
        return cache[name]

    return get


@pytest.fixture(scope="module")
def mixed(tiny_polymnist):
    """B test tuples under each of the 7 subsets: x (7B rows) and observed (7B, 3), one contiguous block per subset."""
    _, test = tiny_polymnist
    x, _ = next(test.batches(B))
    subsets = all_subsets(len(MODALITIES))
    return {m: v.repeat(len(subsets), 1, 1, 1) for m, v in x.items()}, subsets.repeat_interleave(B, dim=0)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def assert_images_close(a: dict, b: dict, atol: float) -> None:
    assert a.keys() == b.keys()
    for m in a:
        torch.testing.assert_close(a[m], b[m], rtol=0, atol=atol, msg=m)


def test_cpu_randn_concatenates_in_blocks_of_16():
    """The noise contract: per-group draws equal one whole-batch draw when every part is a multiple of 16 (CPU
    ``randn`` fills uniforms, then transforms them 16 at a time; other sizes redraw a tail)."""
    whole = torch.randn(7 * 128, generator=seeded(3))
    g = seeded(3)
    torch.testing.assert_close(torch.cat([torch.randn(128, generator=g) for _ in range(7)]), whole, rtol=0, atol=0)
    g = seeded(3)
    parts = torch.cat([torch.randn(n, generator=g) for n in (24, 40)])
    assert not torch.equal(parts, torch.randn(64, generator=seeded(3)))


@pytest.mark.parametrize("name", EXACT)
def test_generate_and_sample_match_ours_over_consecutive_calls(trained, mixed, name):
    ours, adapter = trained(name)
    x, observed = mixed
    g_ours, g_adapter = seeded(1), seeded(1)
    for _ in range(2):
        assert_images_close(adapter.generate(x, observed, generator=g_adapter),
                            ours.generate(x, observed, generator=g_ours), atol=1e-6)
        assert_images_close(adapter.sample(2 * B, generator=g_adapter), ours.sample(2 * B, generator=g_ours), atol=0)
    assert torch.equal(g_ours.get_state(), g_adapter.get_state())


@pytest.mark.parametrize("name", EXACT)
def test_coherence_equals_ours(trained, tiny_polymnist, classifiers, name):
    """Ours takes its native ``generate_subsets``, the adapter the ``generate`` fallback: the same images per row."""
    ours, adapter = trained(name)
    _, test = tiny_polymnist
    expected = evaluate_coherence(ours, test, classifiers, generator=seeded(2))
    result = evaluate_coherence(adapter, test, classifiers, generator=seeded(2))
    torch.testing.assert_close(result.conditional, expected.conditional, rtol=0, atol=0, equal_nan=True)
    assert result.joint == expected.joint
    assert torch.equal(result.joint_classes, expected.joint_classes)
    assert (expected.joint_classes > 0).sum() > len(MODALITIES)  # the classifiers do not read everything as one digit


@pytest.mark.parametrize("name", MIXTURES)
def test_mixtures_sample_like_ours_and_pin_the_conditional_difference(
    trained, tiny_polymnist, classifiers, mixed, name
):
    ours, adapter = trained(name)
    _, test = tiny_polymnist
    x, observed = mixed
    assert_images_close(adapter.sample(4 * B, generator=seeded(1)), ours.sample(4 * B, generator=seeded(1)), atol=1e-4)
    # the cause: one expert for a whole call. Target m2 given {m0, m1} is target m2 given m0 alone, or given m1 alone
    # (numpy's choice takes no torch draw, so the noise is the same; MMVAE+ draws w_m2 from its prior in both)
    both = adapter.generate(x, torch.tensor([[True, True, False]]).expand(len(observed), -1), generator=seeded(4))["m2"]
    alone = [adapter.generate(x, torch.eye(3, dtype=torch.bool)[i].expand(len(observed), -1), generator=seeded(4))["m2"]
             for i in (0, 1)]
    assert any(torch.equal(both, a) for a in alone)
    assert_images_close(adapter.generate(x, observed, generator=seeded(5)),
                        adapter.generate(x, observed, generator=seeded(5)), atol=0)  # numpy's choice is seeded too
    # the size of the difference
    expected = evaluate_coherence(ours, test, classifiers, generator=seeded(2))
    result = evaluate_coherence(adapter, test, classifiers, generator=seeded(2))
    gap = (result.conditional - expected.conditional).abs().nan_to_num()
    assert 0 < gap.max() <= 0.2
    for key in ("k1", "k2", "self", "joint"):
        assert abs(result.values()[key] - expected.values()[key]) <= 0.1, key


def test_the_adapter_is_a_multimodal_model(trained, mixed):
    ours, adapter = trained("mopoe")
    x, observed = mixed
    assert isinstance(adapter, MultimodalModel)
    assert adapter.modalities == MODALITIES
    assert adapter.cfg.model_class == "MoPoE" and stable_hash(adapter.cfg)
    with pytest.raises(BenchError, match="trained with MultiVae"):
        adapter.fit(None, seed=0, device="cpu", progress=False)

    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    out = adapter.generate(x, observed, generator=seeded())
    after = np.random.get_state()
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(after[1], numpy_state[1]) and after[2:] == numpy_state[2:]
    for m in MODALITIES:
        assert out[m].shape == (len(observed), 3, 28, 28) and out[m].dtype == torch.float32
        assert 0.0 <= out[m].min() and out[m].max() <= 1.0
    assert adapter.sample(1, generator=seeded())["m0"].shape == (1, 3, 28, 28)
    for generator in (None, torch.default_generator):  # MultiVae's global draws, as ours with these
        torch.manual_seed(7)
        expected = ours.generate(x, observed, generator=generator)
        torch.manual_seed(7)
        assert_images_close(adapter.generate(x, observed, generator=generator), expected, atol=1e-6)

    # rows in any order: grouped by subset in order of first appearance, each row's output back in its place
    order = torch.arange(len(observed)).view(-1, B).T.flatten()  # interleaves the subsets; groups keep the blocks
    shuffled = adapter.generate({m: v[order] for m, v in x.items()}, observed[order], generator=seeded())
    assert_images_close({m: v[order] for m, v in out.items()}, shuffled, atol=0)

    # another modality order: the columns of observed follow it
    permuted = MultiVaeModel(adapter.mv, modalities=("m2", "m0", "m1"))
    assert_images_close(permuted.generate(x, observed[:, [2, 0, 1]], generator=seeded()), out, atol=0)
    with pytest.raises(BenchError, match="not those of the MultiVae model"):
        MultiVaeModel(adapter.mv, modalities=("m0", "m1"))

    # the fallback of generate_subsets: the wanted (subset, target) rows of generate on the expanded batch
    subsets, targets = all_subsets(3), ~all_subsets(3)
    picked = generate_subsets(adapter, {m: v[:B] for m, v in x.items()}, subsets, targets, generator=seeded())
    for t, m in enumerate(MODALITIES):
        rows = targets[:, t].repeat_interleave(B)
        torch.testing.assert_close(picked[m], out[m][rows], rtol=0, atol=0)
    assert adapter.state_dict().keys() == {f"mv.{k}" for k in adapter.mv.state_dict()}
