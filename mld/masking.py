"""Training inputs of the three MLD variants and their denoising loss (MLD code, ``train_step`` in
``src/components/mm_sde.py``, ``sde.py``, ``mm_sde_uni.py``).

The latent z = [z_1, ..., z_M] concatenates the modalities' standardised latents (D = sum_i D_i). Each variant
draws, for a batch, the time vector ``tau`` fed to the network, the per-dimension times used to noise z, and
``given`` (B, D): dimensions that are a clean condition. The loss is then

    l_b = D / (D - D_A(b)) * || (1 - m_b) * (eps_hat(z_t, tau) + eps) ||^2,   L = mean_b l_b,

with m_b the mask of ``given`` and D_A(b) its size (l_b is the plain DSM loss when nothing is given).

- ``multitime`` (MLD, ``mm_sde.py``): one t per row shared by all modalities; with probability d per batch
  (faithful) or per row (option ``per_sample``) a uniformly drawn non-empty proper subset A is given: clean, time 0.
- ``inpaint`` (MLD-IN, ``sde.py``): one scalar time per row (tau is (B, 1)), nothing given.
- ``uni`` (MLD-UNI, ``mm_sde_uni.py``): an independent time per modality, nothing given.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from mld.sde import VPSDE


@dataclass(frozen=True)
class LatentLayout:
    """Where each modality sits in the concatenated latent: modality i owns ``sizes[i]`` consecutive dimensions."""

    sizes: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.sizes)

    def expand(self, per_modality: Tensor) -> Tensor:
        """(B, M) -> (B, D): repeat each modality's entry over its dimensions."""
        sizes = torch.tensor(self.sizes, device=per_modality.device)
        return per_modality.repeat_interleave(sizes, dim=1, output_size=self.total)


@dataclass
class TrainingInputs:
    tau: Tensor  # (B, M) or (B, 1): the network's time input
    dim_times: Tensor  # (B, D): the diffusion time of each latent dimension
    given: Tensor  # bool (B, D): clean conditioning dimensions


def draw_condition(
    batch: int, proper_subsets: Tensor, d: float, *, per_sample: bool, generator=None, device=None
) -> Tensor:
    """bool (B, M): the conditioning set A of each row (all False where no masking happens).

    ``proper_subsets``: bool (K - 1, M), the non-empty proper subsets (``all_subsets(M)[:-1]``). Faithful
    (``per_sample=False``): one Bernoulli(d) for the batch and, if it fires, one A ~ U(proper subsets) shared by all
    rows. ``per_sample=True`` draws both per row."""
    rows = batch if per_sample else 1
    fire = torch.rand(rows, generator=generator, device=device) < d
    which = torch.randint(len(proper_subsets), (rows,), generator=generator, device=device)
    cond = proper_subsets[which] & fire[:, None]
    return cond.expand(batch, proper_subsets.shape[1])


def multitime_inputs(
    t: Tensor, cond: Tensor, layout: LatentLayout
) -> TrainingInputs:
    """MLD: tau_j = t (1 - 1[j in A]); dimensions of A are given."""
    tau = t[:, None] * (~cond).to(t.dtype)
    return TrainingInputs(tau=tau, dim_times=layout.expand(tau), given=layout.expand(cond))


def inpaint_inputs(t: Tensor, layout: LatentLayout) -> TrainingInputs:
    """MLD-IN: a single scalar time per row for every dimension."""
    tau = t[:, None]
    given = torch.zeros(t.shape[0], layout.total, dtype=torch.bool, device=t.device)
    return TrainingInputs(tau=tau, dim_times=tau.expand(-1, layout.total), given=given)


def uni_inputs(tau: Tensor, layout: LatentLayout) -> TrainingInputs:
    """MLD-UNI: ``tau`` (B, M) holds an independent time per modality."""
    given = torch.zeros(tau.shape[0], layout.total, dtype=torch.bool, device=tau.device)
    return TrainingInputs(tau=tau, dim_times=layout.expand(tau), given=given)


def denoising_loss(net: nn.Module, sde: VPSDE, z0: Tensor, noise: Tensor, inputs: TrainingInputs) -> Tensor:
    """L of the module docstring: noise z0 to its per-dimension times, keep given dimensions clean, and regress the
    network output on -noise over the other dimensions, rescaled by D / (D - D_A)."""
    given = inputs.given
    z_t = torch.where(given, z0, sde.perturb(z0, inputs.dim_times, noise))
    target = noise.masked_fill(given, 0.0)
    eps_hat = net(z_t, inputs.tau).masked_fill(given, 0.0)
    per_row = (eps_hat + target).pow(2).sum(dim=1)
    total = z0.shape[1]
    free = total - given.sum(dim=1)
    return (per_row * (total / free)).mean()
