"""A run's training status from its probe points (``bench.probes``), on k1, the coherence given one modality on
the probes' held-out test tuples: **still rising** when k1 at the last point exceeds k1 at the first point at or past
``PLATEAU_FROM`` (75%) of the planned training by more than min(``RISE``, ``SHARE`` x (k1_last - chance)), i.e. by
more than 0.02 or by more than 5% of what the model gained above chance (a slow learner far from its plateau, such
as MLD's score network at the default budget, gains little per quarter in absolute terms); **unsteady** when it
fell by more than that bound (a training that oscillates has not settled either: MoPoE on the MNIST-SVHN stand-in
fell 0.087 over its last quarter at the default budget and gains 0.29 at the converged one); **converged** otherwise;
**unknown** without such a point before the last (a model that states no plan, a model not trained here, too few
epochs).

The tables show it per model (``bench.tables``) and never bold a row that is still rising or unsteady: more training could
reorder it. The same two points decide whether a learning curve has plateaued (``benchmarks/learning_curves.py``)."""

from __future__ import annotations

RISE = 0.02  # k1 gain over the last quarter of training above which a row is "still rising"
SHARE = 0.05  # ... or this share of the model's k1 above chance, where that is smaller
PLATEAU_FROM = 0.75  # the fraction of training the last point is compared with
RISING, UNSTEADY, CONVERGED, UNKNOWN = "still rising", "unsteady", "converged", "unknown"
UNSETTLED = (RISING, UNSTEADY)  # statuses under which more training could reorder a row


def training_status(points: list[dict], chance: float) -> dict:
    """The training status of one run from its probe points (module docstring; ``chance``: k1 of a model that
    ignores its input, 1 / classes): ``status``, and when known the ``k1`` at the compared point (``k1_from``, at
    ``fraction_from`` of the plan) and at the last (``k1_last``), and ``rise`` = k1_last - k1_from."""
    if len(points) < 2:
        return {"status": UNKNOWN}
    last = points[-1]
    earlier = [p for p in points[:-1] if p["fraction"] >= PLATEAU_FROM - 1e-9]
    if not earlier:
        return {"status": UNKNOWN}
    start = earlier[0]
    rise = last["k1"] - start["k1"]
    threshold = min(RISE, SHARE * max(last["k1"] - chance, 0.0))
    # a change of exactly the bound is not more than it, also where floats round it up
    status = RISING if rise > threshold + 1e-9 else UNSTEADY if rise < -threshold - 1e-9 else CONVERGED
    return {"status": status, "k1_from": start["k1"], "fraction_from": start["fraction"],
            "k1_last": last["k1"], "rise": rise}


def status_text(statuses: list[dict]) -> str:
    """A table's training cell for one model over its seeds: "converged", "still rising (+0.034)" or "unsteady
    (-0.087)" (the mean change), "still rising on 2 of 3 seeds" (the most common unsettled status), or "" when no
    seed's status is known."""
    known = [s for s in statuses if s.get("status", UNKNOWN) != UNKNOWN]
    if not known:
        return ""
    unsettled = [s for s in known if s["status"] in UNSETTLED]
    if not unsettled:
        return CONVERGED
    label = max(UNSETTLED, key=lambda name: sum(s["status"] == name for s in unsettled))
    if len(unsettled) < len(statuses):
        return f"{label} on {len(unsettled)} of {len(statuses)} seeds"
    return f"{label} ({sum(s['rise'] for s in unsettled) / len(unsettled):+.3f})"
