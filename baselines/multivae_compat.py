"""Run MultiVae's implementation of one of our baselines on our networks (for differential tests and benchmarks).

``multivae_twin(model)`` builds the MultiVae model (``multivae==1.0.3``, the ``multivae`` extra) that defines the
same objective as ``model`` (MoPoE, MVAE with joint + unimodal ELBOs and no warm-up, MVTCAE, MMVAE with the DReG
objective, MMVAE+ with either of its objectives, NEXUS up to the pinned top-level difference in
``tests/baselines/test_against_multivae.py``), sharing ``model``'s network modules, so the two always hold identical
weights (MMVAE's learned prior and MMVAE+'s auxiliary priors are separate parameters there: they are copied at
construction). Likelihoods are Laplace with the model's scale and weights; MultiVae draws its noise from the global
RNG.
"""

from __future__ import annotations

from typing import Any

import torch

from bench.errors import BenchError


def _require_multivae():
    try:
        import multivae.models as mv
        from multivae.models.nn.base_architectures import BaseMultilatentEncoder
        from pythae.models.base.base_utils import ModelOutput
        from pythae.models.nn import BaseDecoder, BaseEncoder
    except ImportError:
        raise BenchError("MultiVae is not installed", "pip install -e '.[multivae]' (multivae==1.0.3)") from None
    return mv, ModelOutput, BaseEncoder, BaseMultilatentEncoder, BaseDecoder


def multivae_twin(model) -> Any:
    """The MultiVae model with ``model``'s networks and settings; a BenchError for a model MultiVae has no twin of."""
    mv, ModelOutput, BaseEncoder, BaseMultilatentEncoder, BaseDecoder = _require_multivae()

    class Encoder(BaseEncoder):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            mu, logvar = self.net(x)
            return ModelOutput(embedding=mu, log_covariance=logvar)

    class SplitEncoder(BaseMultilatentEncoder):
        """MMVAE+: our code [z, w] is MultiVae's (embedding, style_embedding)."""

        def __init__(self, net, shared_dim):
            super().__init__()
            self.net = net
            self.shared_dim = shared_dim

        def forward(self, x):
            mu, raw = self.net(x)
            k = self.shared_dim
            return ModelOutput(
                embedding=mu[:, :k], log_covariance=raw[:, :k], style_embedding=mu[:, k:], style_log_covariance=raw[:, k:]
            )

    class Decoder(BaseDecoder):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, z):
            return ModelOutput(reconstruction=self.net(z))

    class Message(BaseEncoder):
        """NEXUS: a modality's message layer as a MultiVae top encoder."""

        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, z):
            return ModelOutput(embedding=self.net(z))

    class NexusNode(BaseEncoder):
        """NEXUS: our node MLP and its two heads as MultiVae's joint encoder."""

        def __init__(self, nexus):
            super().__init__()
            self.node, self.mu, self.logvar = nexus.node, nexus.node_mu, nexus.node_logvar

        def forward(self, h):
            hidden = self.node(h)
            return ModelOutput(embedding=self.mu(hidden), log_covariance=self.logvar(hidden))

    cfg = model.cfg
    modalities = model.modalities
    beta = {"beta": cfg.beta}
    twins = {
        "mopoe": (mv.MoPoE, mv.MoPoEConfig, beta),
        "mvae": (mv.MVAE, mv.MVAEConfig, {**beta, "use_subsampling": True, "k": 0, "warmup": 0}),
        "mvtcae": (mv.MVTCAE, mv.MVTCAEConfig, {**beta, "alpha": getattr(cfg, "alpha", None)}),
        "mmvae": (  # the IWAE bound has no beta
            mv.MMVAE,
            mv.MMVAEConfig,
            {"K": getattr(cfg, "K", 1), "prior_and_posterior_dist": "laplace_with_softmax",
             "learn_prior": getattr(cfg, "learn_prior", True), "loss": "dreg_looser"},
        ),
        "mmvae_plus": (
            mv.MMVAEPlus,
            mv.MMVAEPlusConfig,
            {**beta, "K": getattr(cfg, "K", 1), "prior_and_posterior_dist": "laplace_with_softmax",
             "modalities_specific_dim": getattr(cfg, "private_dim", None), "learn_shared_prior": False,
             "learn_modality_prior": True, "reconstruction_option": "joint_prior",
             "loss": {"iwae": "iwae_looser", "dreg": "dreg_looser"}.get(getattr(cfg, "objective", ""))},
        ),
        "nexus": (
            mv.Nexus,
            mv.NexusConfig,
            {"modalities_specific_dim": {m: cfg.latent_dim for m in modalities},
             "msg_dim": getattr(cfg, "message_dim", None), "dropout_rate": getattr(cfg, "dropout", None),
             "top_beta": getattr(cfg, "nexus_beta", None), "bottom_betas": {m: cfg.beta for m in modalities},
             "gammas": dict(zip(modalities, getattr(model, "nexus_weights", ()))),
             "warmup": getattr(cfg, "anneal_epochs", None)},
        ),
    }
    if model.name not in twins:
        raise BenchError(f"MultiVae has no twin of {model.name!r} here", f"choose one of: {', '.join(twins)}")
    cls, config_cls, options = twins[model.name]
    if model.name == "mvtcae" and cfg.prior_expert:
        raise BenchError("MultiVae's MVTCAE has no prior expert", "compare with prior_expert=False")
    if model.name == "mmvae" and cfg.objective != "dreg":
        raise BenchError("MultiVae's MMVAE twin is the DReG objective", "compare with objective='dreg'")
    twin_cfg = config_cls(
        n_modalities=len(modalities),
        latent_dim=cfg.nexus_dim if model.name == "nexus" else cfg.latent_dim,
        input_dims={m: tuple(model.spec.shapes[m]) for m in modalities},
        decoders_dist={m: "laplace" for m in modalities},
        decoder_dist_params={m: {"scale": cfg.laplace_scale} for m in modalities},
        uses_likelihood_rescaling=True,  # otherwise MultiVae ignores rescale_factors
        rescale_factors=dict(zip(modalities, model.rec_weights)),
        **options,
    )
    extra = {}
    if model.name == "nexus":
        extra = {
            "top_encoders": {m: Message(net) for m, net in zip(modalities, model.messages)},
            "joint_encoder": NexusNode(model),
            "top_decoders": {m: Decoder(net) for m, net in zip(modalities, model.top_decoders)},
        }
    twin = cls(
        twin_cfg,
        encoders={
            m: SplitEncoder(e, cfg.latent_dim) if model.name == "mmvae_plus" else Encoder(e)
            for m, e in zip(modalities, model.encoders)
        },
        decoders={m: Decoder(d) for m, d in zip(modalities, model.decoders)},
        **extra,
    )
    param = next(model.parameters())
    twin = twin.to(device=param.device, dtype=param.dtype)
    with torch.no_grad():
        if model.name == "mmvae":
            twin.prior_log_var.copy_(model.prior_logits.detach().unsqueeze(0))
        if model.name == "mmvae_plus":
            for m, logits in zip(modalities, model.aux_logits.detach()):
                twin.logvars_priors[m].copy_(logits.unsqueeze(0))
    return twin
