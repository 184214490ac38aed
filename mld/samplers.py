"""Reverse-time Euler–Maruyama sampling of MLD on a RePaint jump schedule (MLD code ``mod_repaint``,
``src/components/mm_sde.py`` and ``sde.py``).

A schedule is a list of time indices k (time t = k / N) from N down to 0. Between consecutive entries a step goes
down (a reverse step at the current k) or up (a forward jump). With observed mask m (B, D), clean observed latents
z_obs, and step dt = 1/N, at time t:

    reverse:  x_aux = m * o + (1 - m) * x,    o = z_obs (MLD, MLD-UNI)  or  alpha(t) z_obs + sigma(t) n (MLD-IN;
                                                                           no noise on the last step, as the reference)
              s = eps_hat(x_aux, tau(t)) / sigma(t)
              x = x_aux - dt (f(x_aux, t) - g(t)^2 s) + g(t) sqrt(dt) n   (no noise on the last step, k = 1)
              x = m * z_obs + (1 - m) * x
    forward:  x = x + dt f(x, t) + g(t) sqrt(dt) n

tau(t) is t times the time mask (1 for unobserved modalities, 0 for observed ones; MLD-IN: a single 1).
Initialisation: x = m * z_obs + (1 - m) * n. The noise n comes from ``noise(shape)``, drawn in a fixed order, so a
row's result depends only on its own inputs and noise.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor
from tqdm.auto import tqdm

from mld.sde import VPSDE

Noise = Callable[[tuple[int, ...]], Tensor]


def jump_schedule(n_steps: int, jump_length: int, jump_n_sample: int) -> list[int]:
    """RePaint's ``get_schedule_jump`` (one sample), shifted to indices N .. 0.

    Go down one index at a time; whenever the (unshifted) index is a multiple of ``jump_length`` below
    N - jump_length, jump back up ``jump_length`` indices, ``jump_n_sample - 1`` times for that index.
    (250, 10, 10) gives 2,410 down steps and 2,160 up steps.
    """
    if n_steps < 1 or jump_length < 1 or jump_n_sample < 1:
        raise ValueError(f"schedule needs positive sizes, got ({n_steps}, {jump_length}, {jump_n_sample})")
    jumps = {j: jump_n_sample - 1 for j in range(0, n_steps - jump_length, jump_length)}
    u, times = n_steps, []  # u: RePaint's unshifted index
    while u >= 1:
        u -= 1
        times.append(u)
        if jumps.get(u, 0) > 0:
            jumps[u] -= 1
            for _ in range(jump_length):
                u += 1
                times.append(u)
    times.append(-1)
    return [u + 1 for u in times]


def euler_schedule(n_steps: int) -> list[int]:
    """Plain Euler–Maruyama: N, N-1, ..., 0."""
    return jump_schedule(n_steps, 1, 1)


def reverse_steps(schedule: list[int]) -> int:
    """Network evaluations per sample for ``schedule``: one per down step."""
    return sum(b < a for a, b in zip(schedule[:-1], schedule[1:]))


@torch.no_grad()
def sample(
    eps_net: Callable[[Tensor, Tensor], Tensor],
    sde: VPSDE,
    schedule: list[int],
    n_steps: int,
    z_obs: Tensor,
    given: Tensor,
    time_mask: Tensor,
    noise: Noise,
    *,
    renoise_observed: bool = False,
    progress: bool = False,
) -> Tensor:
    """Run the module docstring's sampler from schedule[0] to schedule[-1]; returns x (B, D).

    ``z_obs`` (B, D) clean standardised latents (read only where ``given``); ``given`` bool (B, D); ``time_mask``
    (B, M_t) float; ``eps_net(x, tau)`` predicts -eps."""
    dt = 1.0 / n_steps
    x = torch.where(given, z_obs, noise(tuple(z_obs.shape)))
    pairs = list(zip(schedule[:-1], schedule[1:]))
    for k, k_next in tqdm(pairs, desc="sampling", disable=not progress, leave=False):
        t = torch.tensor(k / n_steps, dtype=z_obs.dtype, device=z_obs.device)
        beta, g = sde.beta(t), sde.diffusion(t)
        if k_next < k:
            if not renoise_observed:
                observed = z_obs
            elif k > 1:
                observed = sde.perturb(z_obs, t, noise(tuple(z_obs.shape)))
            else:  # the reference's do_reverse_diffusion draws no noise at t_step = 1
                observed = sde.alpha(t) * z_obs
            x_aux = torch.where(given, observed, x)
            score = eps_net(x_aux, t * time_mask) / sde.sigma(t)
            x = x_aux - dt * (sde.drift(x_aux, t) - beta * score)
            if k > 1:
                x = x + g * dt**0.5 * noise(tuple(x.shape))
            x = torch.where(given, z_obs, x)
        else:
            x = x + dt * sde.drift(x, t) + g * dt**0.5 * noise(tuple(x.shape))
    return x
