"""The networks a suite gives the models it runs: one factory per (model family, modality kind).

A model family states the contract of its factories, and a suite (``bench/suites/<name>/nets.py``) supplies one
factory per kind of modality it has:

- ``"vae"`` (``baselines.nets``): ``make(shape, latent_dim, width) -> (encoder, decoder)``, the encoder giving the
  Gaussian posterior's ``(mu, logvar)``, each (B, D), the decoder the likelihood's parameters (B, *shape);
- ``"autoencoder"`` (``mld.autoencoders``): ``make(shape, latent_dim, hidden_dim, width) -> (encoder, decoder)``,
  deterministic, (B, *shape) <-> (B, D);
- ``"classifier"`` (``classifiers.nets``): ``make(shape, n_classes) -> module`` with ``forward(x) -> logits`` and
  ``features(x, layer)``.

``shape`` is one item of the modality as models see it (``ModalitySpec.model_shape``: image (C, H, W), text (L, V)),
so a factory may choose by shape (e.g. an MLP for 1x28x28 digits and a conv net for 3x32x32 pictures). A model never
names a dataset: it asks its ``DataSpec`` for ``spec.network(family, m, **options)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from bench.data.kinds import ModalitySpec
from bench.errors import BenchError

Factory = Callable[..., Any]


@dataclass(frozen=True)
class Networks:
    """``factories[family][kind]`` of one suite (module docstring). ``version`` enters the cache keys of everything
    built from them (the classifiers, every model, a model's own stages): raise it with any change to the networks
    that can alter numbers (``bench.versions``)."""

    suite: str
    factories: Mapping[str, Mapping[str, Factory]] = field(default_factory=dict)
    version: int = 1

    def factory(self, family: str, kind: str) -> Factory:
        """The factory of ``family`` for modalities of ``kind``, or one clear error naming what the suite has."""
        kinds = self.factories.get(family, {})
        if kind not in kinds:
            have = ", ".join(f"{f} ({', '.join(k)})" for f, k in self.factories.items()) or "none"
            raise BenchError(
                f"suite {self.suite} has no {family!r} networks for {kind} modalities (it has: {have})",
                f"add a {family!r} factory for kind {kind!r} to the suite's networks, or run a model of another family",
            )
        return kinds[kind]

    def build(self, family: str, spec: ModalitySpec, **options: Any) -> Any:
        """``factory(family, spec.kind)(spec.model_shape, **options)``: the networks of one modality."""
        return self.factory(family, spec.kind)(tuple(spec.model_shape), **options)
