"""MLD, MLD-IN and MLD-UNI beyond the shared contract: stages, standardisation, config, and learning."""

import pytest
import torch
from torch import nn

import mld  # noqa: F401  (registers the models)
from bench.errors import BenchError
from bench.interface import DataSpec, build_model, model_config
from bench.networks import Networks
from mld.autoencoders import AutoencoderConfig
from mld.model import MLD, MLDConfig, MLDIn, MLDUni
from tests.specs import spec_of

VARIANTS = {"mld": MLD, "mld_in": MLDIn, "mld_uni": MLDUni}


def _scalar(shape, *, latent_dim, hidden_dim, width):
    """Identity "autoencoder" for (1, 1, 1) inputs: the latent is the scalar itself."""
    return nn.Flatten(), nn.Unflatten(1, (1, 1, 1))


SCALAR = DataSpec("scalar", ("a", "b", "c"), {m: (1, 1, 1) for m in "abc"},
                  networks=Networks("scalar", {"autoencoder": {"image": _scalar}}))


def scalar_model(name: str, **overrides) -> MLD:
    cfg = dict(
        autoencoder=AutoencoderConfig(latent_dim=1),
        init_dim=64,
        time_dim=32,
        groups=8,
        lr=3e-3,
        batch_size=256,
        epochs=80,
        ema_decay=0.99,
        d=0.5,
        sampler="euler",
        steps=100,
    )
    cfg.update(overrides)
    return VARIANTS[name](SCALAR, MLDConfig(**cfg))


def noisy_copies(n: int, seed: int) -> torch.Tensor:
    """Three modalities that are noisy copies of one Gaussian scalar: x + 0.3 n_i, x ~ N(0, 1)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, generator=g)
    return x + 0.3 * torch.randn(n, 3, generator=g)


def noise(seed: int):
    g = torch.Generator().manual_seed(seed)
    return lambda shape: torch.randn(shape, generator=g)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_learns_conditionals_and_joint_on_an_analytic_case(name):
    """corr(generated b, given a) is 0.92 for the true conditional; joint samples keep unit (standardised) variance."""
    model = scalar_model(name)
    record = model.fit_score(noisy_copies(2048, 0), seed=0)
    assert record.losses[-1] < record.losses[0]
    z = (noisy_copies(2000, 1) - model.z_mean) / model.z_std
    observed = torch.tensor([[True, False, False]]).expand(2000, 3)
    out = model.sample_latents(z, observed, noise=noise(0))
    assert torch.equal(out[:, 0], z[:, 0])
    for target in (1, 2):
        corr = torch.corrcoef(torch.stack([out[:, target], z[:, 0]]))[0, 1]
        assert corr > 0.6, f"{name}: corr(generated {target}, given 0) = {corr:.2f}"
    joint = model.sample_latents(torch.zeros(2000, 3), torch.zeros(2000, 3, dtype=torch.bool), noise=noise(1))
    var = joint.var(0)
    assert ((var > 0.6) & (var < 1.5)).all(), f"{name}: joint variances {var.tolist()}"
    assert torch.corrcoef(joint.T)[0, 1] > 0.6


def test_standardisation_uses_the_first_batch_or_the_training_set():
    z = noisy_copies(1000, 0) * torch.tensor([1.0, 5.0, 0.2]) + 3.0
    first = scalar_model("mld", epochs=1, batch_size=100)
    first.fit_score(z, seed=4)
    batch = z[torch.randperm(1000, generator=torch.Generator().manual_seed(4))[:100]]
    torch.testing.assert_close(first.z_mean, batch.mean(0))
    torch.testing.assert_close(first.z_std, batch.std(0))
    full = scalar_model("mld", epochs=1, batch_size=100, stats="train_set")
    full.fit_score(z, seed=4)
    torch.testing.assert_close(full.z_mean, z.mean(0))
    assert "z_mean" in full.state_dict() and "z_std" in full.state_dict()


def test_nan_latents_stop_training_with_a_clear_error():
    z = noisy_copies(300, 0)
    z[5, 1] = float("nan")
    with pytest.raises(BenchError, match="NaN"):
        scalar_model("mld", epochs=1, batch_size=300).fit_score(z, seed=0)


def test_variants_differ_in_time_input_and_sampling():
    assert scalar_model("mld_in").score.time_mlp[0].in_features == 1
    assert scalar_model("mld_uni").score.time_mlp[0].in_features == 3
    assert MLDIn.renoise_observed and not MLD.renoise_observed and not MLDUni.renoise_observed


def test_sampler_cost_is_recorded():
    assert scalar_model("mld", sampler="repaint", steps=250).network_calls_per_sample == 2410
    assert scalar_model("mld", sampler="euler", steps=50).network_calls_per_sample == 50


@pytest.mark.parametrize("field,value", [("sampler", "ddim"), ("stats", "batch"), ("d", 1.5)])
def test_bad_config_values_are_clear_errors(field, value):
    with pytest.raises(BenchError, match="mld"):
        model_config("mld", "polymnist", "quick", **{field: value})


def test_paper_preset_is_the_reference():
    cfg = model_config("mld", "polymnist", "paper")
    assert cfg == MLDConfig()
    assert (cfg.autoencoder.latent_dim, cfg.init_dim, cfg.time_dim, cfg.groups) == (160, 1536, 512, 32)
    assert (cfg.lr, cfg.batch_size, cfg.ema_decay, cfg.d, cfg.sampler) == (1e-4, 256, 0.999, 0.2, "repaint")


def test_autoencoders_are_a_cached_stage_shared_by_variants(tiny_polymnist):
    train, _ = tiny_polymnist
    spec = spec_of(train, "polymnist")
    store, computed = {}, []

    def cache(stage, parts, compute):
        key = (stage, repr(parts))
        if key not in store:
            computed.append(stage)
            store[key] = compute()
        return store[key]

    a = build_model("mld", spec, "quick", epochs=1)
    a.fit(train, seed=0, device=torch.device("cpu"), cache=cache)
    b = build_model("mld_uni", spec, "quick", epochs=1)
    b.fit(train, seed=0, device=torch.device("cpu"), cache=cache)
    assert computed == ["autoencoders"]
    for p, q in zip(a.autoencoders.parameters(), b.autoencoders.parameters()):
        assert torch.equal(p, q)
    c = build_model("mld", spec, "quick", epochs=1)
    c.fit(train, seed=1, device=torch.device("cpu"), cache=cache)
    assert computed == ["autoencoders", "autoencoders"]  # another seed trains its own


def test_fully_observed_rows_are_reconstructions(tiny_polymnist):
    train, test = tiny_polymnist
    spec = spec_of(train, "polymnist")
    model = build_model("mld", spec, "quick", epochs=1)
    model.fit(train, seed=0, device=torch.device("cpu"))
    x, _ = next(test.batches(4))
    out = model.generate(x, torch.ones(4, 3, dtype=torch.bool))
    for m in model.modalities:
        torch.testing.assert_close(out[m], model.autoencoders[m](x[m]).clamp(0, 1))
