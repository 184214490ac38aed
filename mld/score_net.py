"""The score network of MLD: an MLP "U-Net" on the flat concatenated latent (MLD code
``src/components/mlp_unet.py::UnetMLP``).

Notation: D latent size, I ``init_dim``, T ``time_dim``, G GroupNorm groups, M entries in the time vector.

    t_emb = Linear(T, T)(GELU(Linear(M, T)(tau)))                         raw times, no Fourier features
    Block(din -> dout):  h = Linear(SiLU(GN(x))) + Linear(T, dout)(SiLU(t_emb));  h = Linear(SiLU(GN(h)));
                         out = h + skip(x)    (skip = Linear if din != dout else identity)
    x0 = Linear(D, I)(z);  2 down levels [Block(I->I), keep skip, Linear(I, I)];  2 middle Blocks(I->I);
    2 up levels [cat skip, Block(2I->I), Linear(I, I)];  cat x0, Block(2I->I);  GN, SiLU, Linear(I, D)

The last Linear is zero-initialised (weights and bias), so the network outputs 0 at initialisation. Its output
``eps_hat`` is trained to equal -eps (noise prediction); the score is eps_hat / sigma(t) (done by the caller).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

LEVELS = 2  # down and up levels (``dim_mults=(1, 1)``)


class ResnetBlock(nn.Module):
    def __init__(self, din: int, dout: int, time_dim: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, din)
        self.lin1 = nn.Linear(din, dout)
        self.time = nn.Linear(time_dim, dout)
        self.norm2 = nn.GroupNorm(groups, dout)
        self.lin2 = nn.Linear(dout, dout)
        self.skip = nn.Linear(din, dout) if din != dout else nn.Identity()

    def forward(self, x: Tensor, t_emb: Tensor) -> Tensor:
        h = self.lin1(F.silu(self.norm1(x))) + self.time(F.silu(t_emb))
        h = self.lin2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class ScoreMLP(nn.Module):
    """``forward(z (B, D), tau (B, M)) -> eps_hat (B, D)``."""

    def __init__(self, latent_dim: int, n_times: int, init_dim: int, time_dim: int, groups: int) -> None:
        super().__init__()
        if init_dim % groups:
            raise ValueError(f"init_dim {init_dim} must be a multiple of the GroupNorm groups {groups}")
        width = init_dim
        self.time_mlp = nn.Sequential(nn.Linear(n_times, time_dim), nn.GELU(), nn.Linear(time_dim, time_dim))
        self.init = nn.Linear(latent_dim, width)
        self.down = nn.ModuleList(ResnetBlock(width, width, time_dim, groups) for _ in range(LEVELS))
        self.down_proj = nn.ModuleList(nn.Linear(width, width) for _ in range(LEVELS))
        self.mid = nn.ModuleList(ResnetBlock(width, width, time_dim, groups) for _ in range(2))
        self.up = nn.ModuleList(ResnetBlock(2 * width, width, time_dim, groups) for _ in range(LEVELS))
        self.up_proj = nn.ModuleList(nn.Linear(width, width) for _ in range(LEVELS))
        self.final = ResnetBlock(2 * width, width, time_dim, groups)
        self.out_norm = nn.GroupNorm(groups, width)
        self.out = nn.Linear(width, latent_dim)
        self.zero_output()

    def zero_output(self) -> None:
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, z: Tensor, tau: Tensor) -> Tensor:
        t_emb = self.time_mlp(tau)
        h = r = self.init(z)
        skips = []
        for block, proj in zip(self.down, self.down_proj):
            h = block(h, t_emb)
            skips.append(h)
            h = proj(h)
        for block in self.mid:
            h = block(h, t_emb)
        for block, proj in zip(self.up, self.up_proj):
            h = proj(block(torch.cat([h, skips.pop()], dim=1), t_emb))
        h = self.final(torch.cat([h, r], dim=1), t_emb)
        return self.out(F.silu(self.out_norm(h)))
