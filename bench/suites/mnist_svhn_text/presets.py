"""Every model's presets on MNIST-SVHN-Text (``bench.presets``): MNIST-SVHN's (the two suites' images are the same,
``bench.suites.mnist_svhn.presets``) with the text modality added, and MoPoE's own recipe at the paper scale.

- The VAEs weight the text's likelihood 3072 / 8 = 384 (MoPoE ``set_rec_weights``: numel(SVHN) / numel(m), a text's
  numel its length 8, ``modalities/Text.py``).
- MLD's text autoencoder has a latent of 16: the strings carry only the digit and the word's start (at most 10 x 5 = 50
  distinct strings), so MNIST's 16 is ample, between the MLD code's unused ``dim_label = 10`` and MoPoE's shared
  ``class_dim = 20``, and it keeps the concatenated latent (96) dominated by SVHN's 64 as on MNIST-SVHN.
- MoPoE at the paper scale: its ``job_mnistsvhntext``, D = 20, beta 2.5, batch 256, Adam 1e-3, 200 epochs.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bench.presets import register_presets
from bench.suites.mnist_svhn.presets import PRESETS as PAIRS

TEXT_WEIGHT = 384.0
TEXT_LATENT = 16


def with_text(values: dict[str, Any]) -> dict[str, Any]:
    """A MNIST-SVHN preset with the text appended to its per-modality lists (reconstruction weights, latent sizes)."""
    out = dict(values)
    if "rec_weights" in out:
        out["rec_weights"] = (*out["rec_weights"], TEXT_WEIGHT)
    if "autoencoder" in out and out["autoencoder"].latent_dims is not None:
        out["autoencoder"] = dataclasses.replace(out["autoencoder"],
                                                 latent_dims=(*out["autoencoder"].latent_dims, TEXT_LATENT))
    return out


PRESETS = {model: {scale: with_text(values) for scale, values in presets.items()} for model, presets in PAIRS.items()}
PRESETS["mopoe"]["paper"] = {**PRESETS["mopoe"]["paper"], "latent_dim": 20, "beta": 2.5, "batch_size": 256,
                             "lr": 1e-3, "epochs": 200}

for _model, _presets in PRESETS.items():
    register_presets("mnist_svhn_text", _model, _presets)
