import pytest
import torch

from bench.metrics.subsets import all_subsets
from mld.masking import LatentLayout, denoising_loss, draw_condition, inpaint_inputs, multitime_inputs, uni_inputs
from mld.sde import VPSDE

SDE = VPSDE()
LAYOUT = LatentLayout((2, 3, 1))  # D = 6, M = 3


class Recorder(torch.nn.Module):
    """Returns a fixed output and remembers what it was called with."""

    def __init__(self, out: torch.Tensor) -> None:
        super().__init__()
        self.out = out

    def forward(self, z, tau):
        self.z, self.tau = z, tau
        return self.out


def test_layout_expands_per_modality_values():
    got = LAYOUT.expand(torch.tensor([[1.0, 2.0, 3.0]]))
    assert got.tolist() == [[1.0, 1.0, 2.0, 2.0, 2.0, 3.0]]


def test_condition_is_per_batch_and_uniform_over_proper_subsets():
    g = torch.Generator().manual_seed(0)
    draws = [draw_condition(4, all_subsets(3)[:-1], 0.5, per_sample=False, generator=g) for _ in range(6000)]
    assert all(bool((c == c[0]).all()) for c in draws)  # one decision and one subset for the whole batch
    masked = [c[0] for c in draws if c[0].any()]
    assert abs(len(masked) / len(draws) - 0.5) < 0.03
    proper = all_subsets(3)[:-1]
    counts = torch.stack([(torch.stack(masked) == s).all(1).sum() for s in proper]).float()
    assert counts.sum() == len(masked)  # never the full set, never empty
    assert (counts / counts.sum() - 1 / len(proper)).abs().max() < 0.03


def test_per_sample_condition_varies_across_rows():
    c = draw_condition(200, all_subsets(3)[:-1], 0.5, per_sample=True, generator=torch.Generator().manual_seed(0))
    assert 60 < int(c.any(1).sum()) < 140
    assert len({tuple(r.tolist()) for r in c[c.any(1)]}) == 6


def test_given_dimensions_are_clean_with_time_zero_and_no_loss():
    g = torch.Generator().manual_seed(0)
    z0, noise = torch.randn(2, 6, generator=g), torch.randn(2, 6, generator=g)
    cond = torch.tensor([[True, False, False], [False, True, True]])
    inputs = multitime_inputs(torch.tensor([0.5, 0.8]), cond, LAYOUT)
    assert torch.equal(inputs.tau, torch.tensor([[0.0, 0.5, 0.5], [0.8, 0.0, 0.0]]))
    out = torch.randn(2, 6, generator=g, requires_grad=True)
    net = Recorder(out)
    loss = denoising_loss(net, SDE, z0, noise, inputs)
    given = LAYOUT.expand(cond)
    assert torch.equal(net.z[given], z0[given])  # clean conditioning latents
    assert not torch.allclose(net.z[~given], z0[~given])
    loss.backward()
    assert torch.count_nonzero(out.grad[given]) == 0 and torch.count_nonzero(out.grad[~given]) == (~given).sum()
    # rescale D / (D - D_A): row 0 gives 2 of 6 dims, row 1 gives 4 of 6
    free = ~given
    expected = torch.stack([((out[b] + noise[b])[free[b]] ** 2).sum() * 6 / free[b].sum() for b in range(2)]).mean()
    torch.testing.assert_close(loss, expected)


def test_unmasked_loss_is_plain_denoising_score_matching():
    g = torch.Generator().manual_seed(1)
    z0, noise, out = (torch.randn(3, 6, generator=g) for _ in range(3))
    t = torch.tensor([0.1, 0.5, 0.9])
    inputs = multitime_inputs(t, torch.zeros(3, 3, dtype=torch.bool), LAYOUT)
    net = Recorder(out)
    loss = denoising_loss(net, SDE, z0, noise, inputs)
    tt = t[:, None]
    torch.testing.assert_close(net.z, SDE.alpha(tt) * z0 + SDE.sigma(tt) * noise)
    torch.testing.assert_close(loss, ((out + noise) ** 2).sum(1).mean())


@pytest.mark.parametrize("variant", ["inpaint", "uni"])
def test_variants_noise_every_dimension(variant):
    t = torch.tensor([0.2, 0.7])
    if variant == "inpaint":
        inputs = inpaint_inputs(t, LAYOUT)
        assert inputs.tau.shape == (2, 1)
        assert torch.equal(inputs.dim_times, t[:, None].expand(2, 6))
    else:
        tau = torch.tensor([[0.1, 0.5, 0.9], [0.3, 0.2, 0.6]])
        inputs = uni_inputs(tau, LAYOUT)
        assert torch.equal(inputs.dim_times, LAYOUT.expand(tau))
    assert not inputs.given.any()
