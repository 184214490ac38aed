"""Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs", arXiv 1801.01401, Eq. 3 and Sec. 4):
the squared maximum mean discrepancy between generated features Y (m, d) and real features X (n, d) under the
cubic polynomial kernel k(a, b) = (a.b / d + 1)^3, by its unbiased estimator

    KID = 1/(n(n-1)) sum_{i != j} k(x_i, x_j) + 1/(m(m-1)) sum_{i != j} k(y_i, y_j) - 2/(nm) sum_{i,j} k(x_i, y_j)

over the whole sets (no random subsets, so the number is deterministic; torch-fidelity and the paper average it over
subsets of 1,000 to bound memory, which the blockwise sums here make unnecessary). It can be slightly negative.
Float64 on the features' device, ``block`` rows at a time.
"""

from __future__ import annotations

import torch
from torch import Tensor

from bench.metrics.registry import FeatureMetric, register_metric


def kernel_sum(a: Tensor, b: Tensor, *, block: int = 4096, same: bool = False) -> Tensor:
    """sum_{i,j} (a_i.b_j / d + 1)^3, without the diagonal i = j when ``same`` (a is b); float64 scalar."""
    d = a.shape[1]
    total = torch.zeros((), dtype=torch.float64, device=a.device)
    for start in range(0, a.shape[0], block):
        k = (a[start : start + block] @ b.T / d + 1.0) ** 3
        if same:
            rows = torch.arange(k.shape[0], device=a.device)
            k[rows, rows + start] = 0.0
        total += k.sum()
    return total


def kid(real: Tensor, fake: Tensor, *, block: int = 4096) -> float:
    """The unbiased KID estimate of ``fake (m, d)`` against ``real (n, d)`` (module docstring)."""
    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake must be (n, d) and (m, d), got {tuple(real.shape)} and {tuple(fake.shape)}")
    n, m = real.shape[0], fake.shape[0]
    if min(n, m) < 2:
        raise ValueError(f"KID needs at least 2 real and 2 generated samples, got {n} and {m}")
    x = real.detach().to(torch.float64)
    y = fake.detach().to(x.device, torch.float64)
    xx = kernel_sum(x, x, block=block, same=True) / (n * (n - 1))
    yy = kernel_sum(y, y, block=block, same=True) / (m * (m - 1))
    xy = kernel_sum(x, y, block=block) / (n * m)
    return float(xx + yy - 2 * xy)


def _kid(generated: Tensor, real) -> dict[str, float]:
    return {"kid": kid(real.features, generated)}


register_metric(FeatureMetric(
    name="kid", measures={"kid": False}, compute=_kid, digits={"kid": 4},
    caption="{title} KID: unbiased squared MMD with the kernel (a.b/d + 1)^3 (Bińkowski et al. 2018) in {features} "
    "features ({data}; {samples}; {seeds}). Per modality: unconditional samples; k=K: conditional, averaged over "
    "subsets of size K and targets not in them.",
    plot=("kid", "KID ({space} features)", "KID of conditional generations"),
))
