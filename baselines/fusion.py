"""Fusing Gaussian experts q_m = N(mu_m, sigma_m^2), and sampling from the fused posterior.

Product of experts over the observed modalities (and optionally the prior expert N(0, I)), per latent dim:

    1/sigma^2 = sum_m mask_m / sigma_m^2  (+ 1 for the prior expert)
    mu        = (sum_m mask_m mu_m / sigma_m^2) / (1/sigma^2)          (the prior expert adds 0 to the numerator)

Masked experts add 0. It is computed in log space: ln sigma^2 = -logsumexp_m(-ln sigma_m^2) over the included
experts, and the precision weights are softmax_m(-ln sigma_m^2), so large or tiny variances neither overflow nor
divide by zero.
"""

from __future__ import annotations

import torch
from torch import Tensor


def poe(mu: Tensor, logvar: Tensor, mask: Tensor, *, prior_expert: bool | Tensor = False) -> tuple[Tensor, Tensor]:
    """Masked product of Gaussian experts.

    Args:
        mu, logvar: (B, M, D) expert means and log-variances. Leading dims broadcast, so (1, B, M, D) experts
            with a (K, 1, M) mask give K fused posteriors per sample, (K, B, D).
        mask: bool (B, M); ``mask[b, m]`` includes expert m in row b. Excluded experts may hold anything
            (even NaN): they are selected away, never multiplied by 0.
        prior_expert: include N(0, I) as an extra expert, for every row (bool) or per row (bool tensor (B,)).

    Returns:
        (mu, logvar), each (B, D). Raises ``ValueError`` if some row has no expert at all.
    """
    mask = torch.as_tensor(mask, dtype=torch.bool, device=mu.device)
    prior = torch.as_tensor(prior_expert, dtype=torch.bool, device=mu.device)
    if not bool((mask.any(dim=-1) | prior).all()):
        raise ValueError("poe: some row has no expert (empty mask and no prior expert); give each row at least one")
    keep = mask.unsqueeze(-1)  # (B, M, 1)
    # log precision of each expert, -inf where excluded: (B, M, D)
    log_precision = torch.where(keep, -logvar, float("-inf"))
    mean = torch.where(keep, mu, 0.0)
    shape = torch.broadcast_shapes(log_precision.shape, mean.shape, (*prior.shape, 1, 1))
    log_precision, mean = log_precision.expand(shape), mean.expand(shape)
    # the prior expert N(0, I): log precision 0 where included, mean 0
    prior_log_precision = torch.where(prior, 0.0, float("-inf")).to(mu.dtype)
    prior_log_precision = prior_log_precision.reshape(*prior.shape, 1, 1).expand(*shape[:-2], 1, shape[-1])
    log_precision = torch.cat([log_precision, prior_log_precision], dim=-2)  # (B, M + 1, D)
    mean = torch.cat([mean, torch.zeros_like(prior_log_precision)], dim=-2)
    joint_logvar = -torch.logsumexp(log_precision, dim=-2)  # ln sigma^2 = -ln sum_m 1/sigma_m^2
    weight = torch.softmax(log_precision, dim=-2)  # (1/sigma_m^2) / sum_m' (1/sigma_m'^2)
    joint_mu = (weight * mean).sum(dim=-2)
    return joint_mu, joint_logvar


def poe_subsets(mu: Tensor, logvar: Tensor, masks: Tensor, prior_expert: Tensor) -> tuple[Tensor, Tensor]:
    """The products of experts of K fixed subsets at once, as two matrix products (the training hot path).

    Args:
        mu, logvar: (B, M, D) experts, all finite (every expert is computed during training).
        masks: bool (K, M), the subsets; prior_expert: bool (K,), whether subset k includes N(0, I).
    Returns:
        (mu, logvar), each (K, B, D); equal to ``poe`` with (1, B, M, D) experts and (K, 1, M) masks.

    With c = max(0, max_m -ln sigma_m^2) per (b, d) and T_m = exp(-ln sigma_m^2 - c) <= 1 (the prior expert's
    is exp(-c)): 1/sigma_S^2 = e^c sum_{m in S} T_m (+ e^-c e^c), mu_S = sum_{m in S} T_m mu_m / sum_{m in S} T_m
    (+ e^-c in the denominator), so the sums over subsets are (K, M) x (B, M, D) products and nothing overflows.
    """
    c = (-logvar).amax(dim=1, keepdim=True).clamp_min(0.0)  # (B, 1, D)
    t = torch.exp(-logvar - c)  # (B, M, D)
    weights = masks.to(mu.dtype)  # (K, M)
    total = torch.einsum("km,bmd->kbd", weights, t)
    total = total + prior_expert.to(mu.dtype)[:, None, None] * torch.exp(-c).squeeze(1)
    numerator = torch.einsum("km,bmd->kbd", weights, t * mu)
    return numerator / total, -(c.squeeze(1) + total.log())


def reparameterize(mu: Tensor, logvar: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) of shape ``mu.shape`` drawn from ``generator``.

    The noise is drawn on the generator's device (so a CPU generator also drives a GPU model) and moved to ``mu``'s.
    """
    device = generator.device if generator is not None else mu.device
    eps = torch.randn(mu.shape, generator=generator, device=device, dtype=mu.dtype).to(mu.device)
    return mu + torch.exp(0.5 * logvar) * eps
