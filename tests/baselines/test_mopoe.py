"""MoPoE: networks, subset stratification, the objective against a loop-based re-derivation, training, generation."""

import dataclasses
import itertools

import pytest
import torch
from torch.distributions import Laplace, Normal, kl_divergence

import baselines  # noqa: F401  (registers the models)
from baselines import vae as vae_module
from baselines.mopoe import MoPoE, MoPoEConfig, subset_assignment
from bench.data.dataset import MultimodalDataset
from bench.errors import BenchError
from bench.health import Diverged
from bench.interface import build_model, model_config
from bench.metrics.subsets import all_subsets
from bench.registry import MODELS
from bench.seeding import reinitialize
from tests.specs import suite_spec

MODALITIES = ("m0", "m1", "m2")
SPEC = suite_spec("polymnist", MODALITIES, {m: (3, 28, 28) for m in MODALITIES})


def structured_dataset(n=48, n_modalities=3, seed=0):
    """Label k in 0..3 puts a bright 8x8 square in quadrant k; modality m tints it with its own colour; plus noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 4
    images = {}
    for m in range(n_modalities):
        x = torch.rand(n, 3, 28, 28, generator=g) * 0.15
        colour = torch.tensor([[1.0, 0.3, 0.3], [0.3, 1.0, 0.3], [0.3, 0.3, 1.0], [1.0, 1.0, 0.3]])[m % 4]
        for i, k in enumerate(labels.tolist()):
            r, c = 3 + 14 * (k // 2), 3 + 14 * (k % 2)
            x[i, :, r : r + 8, c : c + 8] += colour[:, None, None] * 0.8
        images[f"m{m}"] = (x.clamp(0, 1) * 255).round().to(torch.uint8)
    return MultimodalDataset(images, labels)


def as_float(ds):
    return {m: v.float() / 255 for m, v in ds.images.items()}


@pytest.fixture(scope="module")
def trained():
    """A quick-preset MoPoE on 48 structured tuples, with its record."""
    cfg = model_config("mopoe", "polymnist", "quick", epochs=8, batch_size=16)
    model = MoPoE(SPEC, cfg)
    record = model.fit(structured_dataset(), seed=0, device=torch.device("cpu"), progress=False)
    return model, record


class TestConfig:
    def test_paper_defaults(self):
        cfg = model_config("mopoe", "polymnist", "paper")
        assert cfg == MoPoEConfig()
        assert (cfg.latent_dim, cfg.beta, cfg.lr, cfg.batch_size, cfg.epochs) == (512, 2.5, 5e-4, 256, 300)
        assert cfg.adam_betas == (0.9, 0.999) and cfg.laplace_scale == 0.75 and cfg.rec_weights is None

    def test_registered_and_built_from_preset(self):
        assert MODELS.get("mopoe") is MoPoE and MoPoE.Config is MoPoEConfig
        model = build_model("mopoe", SPEC, "quick", latent_dim=8)
        assert model.cfg.latent_dim == 8 and model.modalities == MODALITIES
        assert model.rec_weights == (1.0, 1.0, 1.0)

    def test_wrong_number_of_rec_weights(self):
        with pytest.raises(BenchError, match="rec_weights"):
            MoPoE(SPEC, MoPoEConfig(latent_dim=4, rec_weights=(1.0, 2.0)))


class TestSubsets:
    @pytest.mark.parametrize("n_modalities", [1, 2, 3, 5])
    def test_masks_are_every_nonempty_subset_full_last(self, n_modalities):
        masks = all_subsets(n_modalities)
        assert masks.shape == (2**n_modalities - 1, n_modalities)
        assert len({tuple(r) for r in masks.tolist()}) == len(masks) and masks.any(dim=1).all()
        assert masks[-1].all() and (masks.sum(dim=1).diff() >= 0).all()

    @pytest.mark.parametrize("batch", [31, 64, 256, 257, 300])
    def test_assignment_covers_every_subset_in_chunks(self, batch):
        which = subset_assignment(batch, 31)
        counts = torch.bincount(which, minlength=31)
        assert (counts[:-1] == batch // 31).all() and counts[-1] == batch - 30 * (batch // 31)
        assert (which.diff() >= 0).all()  # contiguous chunks

    def test_reference_example(self):
        """MoPoE code: B=256 and 31 subsets give 8 samples each, the last chunk 16."""
        counts = torch.bincount(subset_assignment(256, 31))
        assert counts[:30].tolist() == [8] * 30 and counts[30] == 16

    def test_small_batch_does_not_crash(self):
        assert subset_assignment(5, 31).tolist() == [0, 1, 2, 3, 4]


def loss_by_loop(model, x, eps):
    """The MoPoE objective written out: a loop over subsets, torch.distributions for the KL and the likelihood."""
    n = len(model.modalities)
    subsets = [s for k in range(1, n + 1) for s in itertools.combinations(range(n), k)]
    experts = [model.encoders[i](x[m]) for i, m in enumerate(model.modalities)]
    batch, chunk = eps.shape[0], eps.shape[0] // len(subsets)
    z = torch.empty_like(eps)
    kls = []
    for j, subset in enumerate(subsets):
        precision = sum(torch.exp(-experts[i][1]) for i in subset) + (1.0 if len(subset) == n else 0.0)
        mean = sum(experts[i][0] * torch.exp(-experts[i][1]) for i in subset) / precision
        q = Normal(mean, precision.rsqrt())
        kls.append(kl_divergence(q, Normal(torch.zeros_like(mean), torch.ones_like(mean))).sum(dim=1).mean())
        stop = batch if j == len(subsets) - 1 else (j + 1) * chunk
        z[j * chunk : stop] = mean[j * chunk : stop] + q.stddev[j * chunk : stop] * eps[j * chunk : stop]
    rec = 0.0
    for i, m in enumerate(model.modalities):
        loc = model.decoders[i](z)
        rec = rec + model.rec_weights[i] * -Laplace(loc, model.cfg.laplace_scale).log_prob(x[m]).sum() / batch
    return rec + model.cfg.beta * sum(kls) / len(kls)


class TestObjective:
    @pytest.mark.parametrize("batch", [10, 23])
    def test_loss_matches_loop_reference(self, batch):
        cfg = MoPoEConfig(latent_dim=6, beta=1.7, rec_weights=(1.0, 2.0, 0.5))
        model = MoPoE(SPEC, cfg).double()
        reinitialize(model, 0)
        x = {m: v.double() for m, v in as_float(structured_dataset(n=batch)).items()}
        got, parts = model.loss(x, generator=torch.Generator().manual_seed(3))
        eps = torch.randn(batch, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
        ref = loss_by_loop(model, x, eps)
        torch.testing.assert_close(got, ref, rtol=1e-9, atol=1e-7)
        torch.testing.assert_close(parts["rec"] + cfg.beta * parts["kl"], got.detach())


class TestFit:
    def test_loss_falls(self, trained):
        _, record = trained
        assert record.losses[-1] < 0.9 * record.losses[0]
        assert record.steps == 8 * 3 and record.seconds > 0 and len(record.extra["kl"]) == 8

    def test_eval_mode_after_fit(self, trained):
        model, _ = trained
        assert not model.training and model.device == torch.device("cpu")

    def test_same_seed_same_weights_whatever_the_construction(self, trained):
        model, _ = trained
        torch.manual_seed(123)  # different global RNG state at construction
        other = MoPoE(SPEC, model.cfg)
        other.fit(structured_dataset(), seed=0, device="cpu", progress=False)
        for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
            assert torch.equal(a, b), k
        other.fit(structured_dataset(), seed=1, device="cpu", progress=False)
        assert not torch.equal(model.decoders[0].body[0].weight, other.decoders[0].body[0].weight)

    def test_nan_loss_stops_the_fit_as_diverged(self, monkeypatch):
        model = MoPoE(SPEC, model_config("mopoe", "polymnist", "quick", epochs=3))

        def nan_loss(x, *, generator=None):
            value = torch.tensor(float("nan"), requires_grad=True)
            return value, {"rec": value.detach(), "kl": value.detach()}

        monkeypatch.setattr(model, "loss", nan_loss)
        with pytest.raises(Diverged, match="mopoe: the training loss diverged at epoch 1 .epoch loss NaN") as err:
            model.fit(structured_dataset(n=8), seed=4, device="cpu", progress=False)
        assert err.value.stage == "training" and err.value.epoch == 0 and len(err.value.curves["training"]) == 1


def every_subset_rows(repeats=2, seed=0):
    masks = all_subsets(len(MODALITIES)).repeat(repeats, 1)
    return masks[torch.randperm(len(masks), generator=torch.Generator().manual_seed(seed))]


class TestGenerate:
    def test_mixed_masks_match_per_row_reference(self, trained):
        """Row b decodes mu_S + sigma_S * eps_b, with (mu_S, sigma_S) from a loop PoE over the row's experts."""
        model, _ = trained
        observed = every_subset_rows()
        x = {m: v[: len(observed)] for m, v in as_float(structured_dataset()).items()}
        out = model.generate(x, observed, generator=torch.Generator().manual_seed(5))
        eps = torch.randn(len(observed), model.cfg.latent_dim, generator=torch.Generator().manual_seed(5))
        with torch.no_grad():
            experts = [model.encoders[i](x[m]) for i, m in enumerate(MODALITIES)]
            z = torch.empty_like(eps)
            for b, row in enumerate(observed.tolist()):
                precision = 1.0 if all(row) else 0.0
                weighted = 0.0
                for i, given in enumerate(row):
                    if given:
                        precision = precision + torch.exp(-experts[i][1][b])
                        weighted = weighted + experts[i][0][b] * torch.exp(-experts[i][1][b])
                z[b] = weighted / precision + precision.rsqrt() * eps[b]
            ref = {m: v.clamp(0, 1) for m, v in model.decode(z).items()}
        for m in MODALITIES:
            torch.testing.assert_close(out[m], ref[m], rtol=1e-4, atol=1e-5)

    def test_batched_equals_per_subset_calls(self, trained, monkeypatch):
        """With the noise removed (z = posterior mean), one mixed batch equals one call per subset."""
        model, _ = trained
        monkeypatch.setattr(vae_module, "reparameterize", lambda mu, logvar, generator=None: mu)
        observed = every_subset_rows(seed=1)
        x = {m: v[: len(observed)] for m, v in as_float(structured_dataset()).items()}
        out = model.generate(x, observed)
        for mask in all_subsets(len(MODALITIES)):
            rows = (observed == mask).all(dim=1)
            alone = model.generate({m: v[rows] for m, v in x.items()}, observed[rows])
            for m in MODALITIES:
                torch.testing.assert_close(out[m][rows], alone[m], rtol=1e-5, atol=1e-6)

    def test_unobserved_inputs_are_ignored(self, trained):
        model, _ = trained
        observed = every_subset_rows()
        x = {m: v[: len(observed)] for m, v in as_float(structured_dataset()).items()}
        given = observed[:, :, None, None, None]
        garbage = {m: torch.where(given[:, i], v, float("nan")) for i, (m, v) in enumerate(x.items())}
        a = model.generate(x, observed, generator=torch.Generator().manual_seed(0))
        b = model.generate(garbage, observed, generator=torch.Generator().manual_seed(0))
        for m in MODALITIES:
            assert torch.equal(a[m], b[m])

    def test_outputs_and_seeding(self, trained):
        model, _ = trained
        observed = every_subset_rows()
        x = {m: v[: len(observed)] for m, v in as_float(structured_dataset()).items()}
        a = model.generate(x, observed, generator=torch.Generator().manual_seed(0))
        b = model.generate(x, observed, generator=torch.Generator().manual_seed(0))
        c = model.generate(x, observed, generator=torch.Generator().manual_seed(1))
        for m in MODALITIES:
            assert a[m].shape == (len(observed), 3, 28, 28) and a[m].dtype == torch.float32
            assert 0 <= a[m].min() and a[m].max() <= 1
            assert torch.equal(a[m], b[m])
        assert any(not torch.equal(a[m], c[m]) for m in MODALITIES)

    def test_row_without_observation_is_an_error(self, trained):
        model, _ = trained
        observed = torch.tensor([[True, False, False], [False, False, False]])
        x = {m: torch.rand(2, 3, 28, 28) for m in MODALITIES}
        with pytest.raises(ValueError, match="no modality"):
            model.generate(x, observed)
        with pytest.raises(ValueError, match="observed must be bool"):
            model.generate(x, torch.ones(2, 2, dtype=torch.bool))


class TestSampleAndState:
    def test_sample_seeded(self, trained):
        model, _ = trained
        a = model.sample(6, generator=torch.Generator().manual_seed(2))
        b = model.sample(6, generator=torch.Generator().manual_seed(2))
        for m in MODALITIES:
            assert a[m].shape == (6, 3, 28, 28) and a[m].dtype == torch.float32
            assert 0 <= a[m].min() and a[m].max() <= 1 and torch.equal(a[m], b[m])

    def test_state_dict_round_trip(self, trained):
        model, _ = trained
        fresh = MoPoE(SPEC, dataclasses.replace(model.cfg))
        fresh.load_state_dict(model.state_dict())
        observed = every_subset_rows()
        x = {m: v[: len(observed)] for m, v in as_float(structured_dataset()).items()}
        a = model.generate(x, observed, generator=torch.Generator().manual_seed(0))
        b = fresh.generate(x, observed, generator=torch.Generator().manual_seed(0))
        s = model.sample(4, generator=torch.Generator().manual_seed(0))
        t = fresh.sample(4, generator=torch.Generator().manual_seed(0))
        for m in MODALITIES:
            assert torch.equal(a[m], b[m]) and torch.equal(s[m], t[m])
