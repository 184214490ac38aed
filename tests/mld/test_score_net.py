import pytest
import torch

from mld.score_net import ScoreMLP


def test_output_is_zero_at_initialisation():
    net = ScoreMLP(latent_dim=12, n_times=3, init_dim=32, time_dim=16, groups=8)
    out = net(torch.randn(5, 12), torch.rand(5, 3))
    assert out.shape == (5, 12)
    assert torch.count_nonzero(out) == 0


def test_paper_sizes_have_the_reference_parameter_count():
    """PolyMNIST reference: D = 800, I = 1536, T = 512, G = 32, M = 5 gives about 72.0 M parameters (spec table)."""
    with torch.device("meta"):
        net = ScoreMLP(latent_dim=800, n_times=5, init_dim=1536, time_dim=512, groups=32)
    n = sum(p.numel() for p in net.parameters())
    assert 71.5e6 < n < 72.5e6


def test_time_input_changes_the_output_once_the_head_is_trained():
    torch.manual_seed(0)
    net = ScoreMLP(latent_dim=6, n_times=2, init_dim=16, time_dim=8, groups=4)
    torch.nn.init.normal_(net.out.weight)
    z = torch.randn(1, 6).expand(2, 6)
    out = net(z, torch.tensor([[0.1, 0.1], [0.9, 0.0]]))
    assert not torch.allclose(out[0], out[1])


def test_width_must_fit_the_groups():
    with pytest.raises(ValueError, match="multiple of the GroupNorm groups"):
        ScoreMLP(latent_dim=6, n_times=2, init_dim=20, time_dim=8, groups=8)
