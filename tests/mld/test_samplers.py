import torch

from mld.samplers import euler_schedule, jump_schedule, reverse_steps, sample
from mld.score_net import ScoreMLP
from mld.sde import VPSDE

SDE = VPSDE()


def gaussian_eps_net(cov: torch.Tensor):
    """The exact noise predictor for z ~ N(0, cov), one latent dimension per modality and a time per dimension:
    z_tau ~ N(0, A cov A + S^2) with A = diag(alpha(tau)), S = diag(sigma(tau)); eps_hat = sigma(tau) * score."""

    def net(x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        a, s = SDE.alpha(tau), SDE.sigma(tau)
        c = a[:, :, None] * cov * a[:, None, :] + torch.diag_embed(s**2)
        return s * -torch.linalg.solve(c, x.unsqueeze(-1)).squeeze(-1)

    return net


def randn_noise(seed: int, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return lambda shape: torch.randn(shape, generator=g, dtype=dtype)


COV = torch.tensor([[1.0, 0.8], [0.8, 1.0]], dtype=torch.float64)


def run(schedule, n_steps, z_obs, given, noise, net=None, **kw):
    time_mask = (~given).to(z_obs.dtype)  # one latent dimension per modality here
    return sample(net or gaussian_eps_net(COV), SDE, schedule, n_steps, z_obs, given, time_mask, noise, **kw)


def test_repaint_schedule_has_the_reference_length():
    schedule = jump_schedule(250, 10, 10)
    assert schedule[0] == 250 and schedule[-1] == 0
    assert reverse_steps(schedule) == 2410
    assert sum(b > a for a, b in zip(schedule, schedule[1:])) == 2160
    assert all(abs(b - a) == 1 for a, b in zip(schedule, schedule[1:]))


def test_euler_schedule_goes_straight_down():
    assert euler_schedule(4) == [4, 3, 2, 1, 0]
    assert reverse_steps(euler_schedule(50)) == 50


def test_joint_samples_follow_the_data_distribution():
    n = 20_000
    z_obs = torch.zeros(n, 2, dtype=torch.float64)
    given = torch.zeros(n, 2, dtype=torch.bool)
    x = run(euler_schedule(200), 200, z_obs, given, randn_noise(0))
    torch.testing.assert_close(torch.cov(x.T), COV, atol=0.06, rtol=0)
    assert x.mean(0).abs().max() < 0.03


def test_repaint_schedule_samples_follow_the_data_distribution():
    n = 20_000
    z_obs = torch.zeros(n, 2, dtype=torch.float64)
    given = torch.zeros(n, 2, dtype=torch.bool)
    x = run(jump_schedule(100, 5, 3), 100, z_obs, given, randn_noise(1))
    torch.testing.assert_close(torch.cov(x.T), COV, atol=0.08, rtol=0)


def test_conditional_samples_follow_the_conditional_and_keep_the_observation():
    """Given a = 1 (clean, time 0), b | a ~ N(0.8, 1 - 0.8^2)."""
    n = 20_000
    z_obs = torch.tensor([[1.0, 123.0]], dtype=torch.float64).expand(n, 2)  # b's value must be ignored
    given = torch.tensor([[True, False]]).expand(n, 2)
    x = run(euler_schedule(200), 200, z_obs, given, randn_noise(2))
    assert torch.equal(x[:, 0], z_obs[:, 0])
    assert abs(x[:, 1].mean() - 0.8) < 0.03
    assert abs(x[:, 1].var() - 0.36) < 0.04


def test_mixed_masks_in_one_batch_match_separate_calls_with_the_same_noise():
    torch.manual_seed(0)
    net = ScoreMLP(latent_dim=6, n_times=3, init_dim=16, time_dim=8, groups=4).double().eval()
    torch.nn.init.normal_(net.out.weight, std=0.3)
    sizes = (2, 2, 2)
    observed = torch.tensor([[True, False, False], [False, True, True], [False, False, False]])
    given = observed.repeat_interleave(torch.tensor(sizes), dim=1)
    z_obs = torch.randn(3, 6, dtype=torch.float64)
    schedule = jump_schedule(12, 3, 2)
    bank = torch.randn(len(schedule) * 2 + 1, 3, 6, dtype=torch.float64)

    def noise_from(rows):
        draws = iter(bank[:, rows])
        return lambda shape: next(draws)

    together = sample(net, SDE, schedule, 12, z_obs, given, (~observed).double(), noise_from(slice(None)))
    for b in range(3):
        alone = sample(
            net, SDE, schedule, 12, z_obs[b : b + 1], given[b : b + 1], (~observed[b : b + 1]).double(),
            noise_from(slice(b, b + 1)),
        )
        torch.testing.assert_close(together[b : b + 1], alone)
    assert torch.equal(together[given], z_obs[given])


class Spy(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.inputs = []

    def forward(self, x, tau):
        self.inputs.append((x.clone(), tau.clone()))
        return torch.zeros_like(x)


def test_observed_part_is_clean_with_time_zero_or_renoised_for_inpainting():
    z_obs = torch.tensor([[0.5, 0.0]], dtype=torch.float64)
    given = torch.tensor([[True, False]])
    spy = Spy()
    run(euler_schedule(5), 5, z_obs, given, randn_noise(3), net=spy)
    assert len(spy.inputs) == 5
    assert all(x[0, 0] == 0.5 and tau[0, 0] == 0 and tau[0, 1] > 0 for x, tau in spy.inputs)
    spy = Spy()
    run(euler_schedule(5), 5, z_obs, given, randn_noise(3), net=spy, renoise_observed=True)
    assert all(x[0, 0] != 0.5 for x, _ in spy.inputs)


def single_time_eps_net(cov: torch.Tensor):
    """The exact noise predictor of MLD-IN's network: one time for every dimension, tau (B, 1)."""
    joint = gaussian_eps_net(cov)
    return lambda x, tau: joint(x, tau.expand(-1, x.shape[1]))


def inpaint(schedule, n_steps, seed=4):
    n = 20_000
    z_obs = torch.tensor([[1.5, 0.0]], dtype=torch.float64).expand(n, 2)  # b | a = 1.5 ~ N(1.2, 0.36)
    given = torch.tensor([[True, False]]).expand(n, 2)
    time_mask = torch.ones(n, 1, dtype=torch.float64)
    return sample(single_time_eps_net(COV), SDE, schedule, n_steps, z_obs, given, time_mask, randn_noise(seed),
                  renoise_observed=True)


def test_inpainting_needs_the_repaint_schedule():
    """MLD-IN re-noises the observation: plain Euler–Maruyama misses the conditional mean by a third, the scaled-down
    RePaint schedule of the default preset (50, 5, 5) comes within 0.1, the reference's (250, 10, 10) within 0.05."""
    from bench.interface import model_config

    euler = inpaint(euler_schedule(50), 50)[:, 1].mean()
    cfg = model_config("mld_in", "polymnist", "default")
    default = inpaint(jump_schedule(cfg.steps, cfg.jump_length, cfg.jump_n_sample), cfg.steps)[:, 1].mean()
    assert cfg.sampler == "repaint" and (cfg.steps, cfg.jump_length, cfg.jump_n_sample) == (50, 5, 5)
    assert abs(euler - 1.2) > 0.35
    assert abs(default - 1.2) < 0.1


def test_inpainting_uses_the_clean_observation_on_the_last_step():
    z_obs = torch.tensor([[0.5, 0.0]], dtype=torch.float64)
    given = torch.tensor([[True, False]])
    spy = Spy()
    sample(spy, SDE, euler_schedule(5), 5, z_obs, given, torch.ones(1, 1, dtype=torch.float64), randn_noise(3),
           renoise_observed=True)
    last_x, last_tau = spy.inputs[-1]
    assert last_x[0, 0] == SDE.alpha(torch.tensor(0.2, dtype=torch.float64)) * 0.5  # alpha(1/N) z_obs, no noise
    assert all(x[0, 0] != 0.5 * SDE.alpha(tau[0, 0]) for x, tau in spy.inputs[:-1])
