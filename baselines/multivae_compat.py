"""Run MultiVae's implementation of one of our baselines on our networks (for differential tests and benchmarks).

``multivae_twin(model)`` builds the MultiVae model (``multivae==1.0.3``, the ``multivae`` extra) that defines the
same objective as ``model`` (MoPoE, MVAE with joint + unimodal ELBOs and no warm-up, MVTCAE, MMVAE with the DReG
objective), sharing ``model``'s encoder and decoder modules, so the two always hold identical network weights
(MMVAE's learned prior is a separate parameter there: it is copied at construction). Likelihoods are Laplace with the model's
scale and weights; MultiVae draws its noise from the global RNG.
"""

from __future__ import annotations

from typing import Any

import torch

from bench.errors import BenchError


def _require_multivae():
    try:
        import multivae.models as mv
        from pythae.models.base.base_utils import ModelOutput
        from pythae.models.nn import BaseDecoder, BaseEncoder
    except ImportError:
        raise BenchError("MultiVae is not installed", "pip install -e '.[multivae]' (multivae==1.0.3)") from None
    return mv, ModelOutput, BaseEncoder, BaseDecoder


def multivae_twin(model) -> Any:
    """The MultiVae model with ``model``'s networks and settings; a BenchError for a model MultiVae has no twin of."""
    mv, ModelOutput, BaseEncoder, BaseDecoder = _require_multivae()

    class Encoder(BaseEncoder):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            mu, logvar = self.net(x)
            return ModelOutput(embedding=mu, log_covariance=logvar)

    class Decoder(BaseDecoder):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, z):
            return ModelOutput(reconstruction=self.net(z))

    twins = {
        "mopoe": (mv.MoPoE, mv.MoPoEConfig, {}),
        "mvae": (mv.MVAE, mv.MVAEConfig, {"use_subsampling": True, "k": 0, "warmup": 0}),
        "mvtcae": (mv.MVTCAE, mv.MVTCAEConfig, {"alpha": getattr(model.cfg, "alpha", None)}),
        "mmvae": (
            mv.MMVAE,
            mv.MMVAEConfig,
            {"K": getattr(model.cfg, "K", 1), "prior_and_posterior_dist": "laplace_with_softmax",
             "learn_prior": getattr(model.cfg, "learn_prior", True), "loss": "dreg_looser"},
        ),
    }
    if model.name not in twins:
        raise BenchError(f"MultiVae has no twin of {model.name!r} here", f"choose one of: {', '.join(twins)}")
    cls, config_cls, options = twins[model.name]
    if model.name == "mvtcae" and model.cfg.prior_expert:
        raise BenchError("MultiVae's MVTCAE has no prior expert", "compare with prior_expert=False")
    if model.name == "mmvae" and model.cfg.objective != "dreg":
        raise BenchError("MultiVae's MMVAE twin is the DReG objective", "compare with objective='dreg'")
    modalities = model.modalities
    cfg = config_cls(
        n_modalities=len(modalities),
        latent_dim=model.cfg.latent_dim,
        input_dims={m: tuple(model.spec.shapes[m]) for m in modalities},
        decoders_dist={m: "laplace" for m in modalities},
        decoder_dist_params={m: {"scale": model.cfg.laplace_scale} for m in modalities},
        uses_likelihood_rescaling=True,  # otherwise MultiVae ignores rescale_factors
        rescale_factors=dict(zip(modalities, model.rec_weights)),
        **({} if model.name == "mmvae" else {"beta": model.cfg.beta}),  # the IWAE bound has no beta
        **options,
    )
    twin = cls(
        cfg,
        encoders={m: Encoder(e) for m, e in zip(modalities, model.encoders)},
        decoders={m: Decoder(d) for m, d in zip(modalities, model.decoders)},
    )
    param = next(model.parameters())
    twin = twin.to(device=param.device, dtype=param.dtype)
    if model.name == "mmvae":
        with torch.no_grad():
            twin.prior_log_var.copy_(model.prior_logits.detach().unsqueeze(0))
    return twin
