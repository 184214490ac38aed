"""Scores during training (bench.probes) and the training status read from them (bench.training_status): the rule,
probes that leave the trained weights as they were, points at the planned fractions, points kept across a resume,
and tables that never bold a row still rising."""

import json

import pytest
import torch

from bench.data.labels import DIGITS
from bench.interface import build_model
from bench.metrics.registry import LabelContext
from bench.probes import ProbeConfig, ProbePlan
from bench.tables import Column, best_models, pivot, summarize
from bench.training_status import CONVERGED, RISING, UNKNOWN, UNSTEADY, status_text, training_status
from tests.specs import spec_of


CHANCE = 0.1


def points(*k1s, fractions=None):
    fractions = fractions or [(i + 1) / len(k1s) for i in range(len(k1s))]
    return [{"fraction": f, "k1": k, "steps": 10 * (i + 1)} for i, (f, k) in enumerate(zip(fractions, k1s))]


def test_a_row_is_still_rising_when_k1_gains_more_than_002_over_the_last_quarter():
    assert training_status(points(0.2, 0.3, 0.40, 0.43), CHANCE)["status"] == RISING
    assert training_status(points(0.2, 0.3, 0.60, 0.62), CHANCE)["status"] == CONVERGED  # +0.02 is not more than 0.02
    assert 0.71 - 0.69 > 0.02 and training_status(points(0.2, 0.3, 0.69, 0.71), CHANCE)["status"] == CONVERGED  # in floats too
    assert training_status(points(0.2, 0.3, 0.45, 0.44), CHANCE)["status"] == CONVERGED  # a small fall is settled
    # a fall beyond the bound is a training that has not settled (MoPoE, MNIST-SVHN stand-in, default budget)
    assert training_status(points(0.338, 0.378, 0.487, 0.400, fractions=[0.3, 0.5, 0.8, 1.0]), CHANCE)["status"] \
        == UNSTEADY
    status = training_status(points(0.1, 0.2, 0.3, 0.5, fractions=[0.6, 0.8, 0.9, 1.0]), CHANCE)
    assert status["fraction_from"] == 0.8 and status["k1_from"] == 0.2 and status["rise"] == pytest.approx(0.3)
    # no point at or past 75% before the last one: the status is not known
    assert training_status(points(0.1, 0.5, fractions=[0.5, 1.0]), CHANCE)["status"] == UNKNOWN
    assert training_status(points(0.5), CHANCE)["status"] == UNKNOWN and training_status([], CHANCE)["status"] == UNKNOWN


def test_a_slow_learner_still_rising_by_more_than_5_percent_of_its_gain_above_chance_is_still_rising():
    # MLD's score network at the default PolyMNIST budget: +0.017 over the last quarter, 0.176 above chance (9.7%);
    # four times the training took its k1 from 0.276 to 0.408
    assert training_status(points(0.169, 0.242, 0.259, 0.276), CHANCE)["status"] == RISING
    # the same model converged at the 4x budget: +0.012, 0.308 above chance (3.9%)
    converged = points(0.363, 0.388, 0.396, 0.408, fractions=[0.5, 0.7, 0.8, 1.0])
    assert training_status(converged, CHANCE)["status"] == CONVERGED
    # far above chance the absolute 0.02 is the stricter bound
    assert training_status(points(0.5, 0.6, 0.70, 0.72), CHANCE)["status"] == CONVERGED
    assert training_status(points(0.5, 0.6, 0.70, 0.721), CHANCE)["status"] == RISING
    # the bound follows chance: +0.015 at 0.715 is 2.4% of the gain above 1/10 but 7% above 1/2
    assert training_status(points(0.5, 0.6, 0.70, 0.715), CHANCE)["status"] == CONVERGED
    assert training_status(points(0.5, 0.6, 0.70, 0.715), 0.5)["status"] == RISING


def test_the_status_over_seeds_names_how_many_still_rise():
    rising, flat = training_status(points(0.1, 0.2, 0.3, 0.4), CHANCE), training_status(points(0.1, 0.2, 0.3, 0.3), CHANCE)
    assert status_text([rising, rising]) == f"{RISING} (+0.100)"
    assert status_text([rising, flat, flat]) == f"{RISING} on 1 of 3 seeds"
    assert status_text([flat, {"status": UNKNOWN}]) == CONVERGED
    assert status_text([{}, {"status": UNKNOWN}]) == ""
    falling = training_status(points(0.1, 0.2, 0.5, 0.4), CHANCE)
    assert status_text([falling]) == f"{UNSTEADY} (-0.100)"
    assert status_text([falling, rising, falling]) == f"{UNSTEADY} (-0.033)"  # the most common unsettled status
    assert status_text([falling, flat]) == f"{UNSTEADY} on 1 of 2 seeds"


def test_a_still_rising_best_row_is_not_bold_and_the_table_says_why():
    column = Column("coherence_k1", "Coh k=1", trials="n_test", chance="uniform")
    rising, flat = training_status(points(0.2, 0.3, 0.5, 0.6), CHANCE), training_status(points(0.2, 0.3, 0.4, 0.4), CHANCE)

    def record(model, value, status):
        return {"model": model, "seed": 0, "metrics": {"coherence_k1": value}, "training": status,
                "counts": {"n_test": 2000, "n_classes": 10}}

    stats = summarize([record("a", 0.6, rising), record("b", 0.4, flat)], [column])
    assert best_models(stats, column) == set()  # without the status "a" would be bold: 0.6 vs 0.4 on 2,000 tuples
    stats_flat = summarize([record("a", 0.6, flat), record("b", 0.4, flat)], [column])
    assert best_models(stats_flat, column) == {"a"}
    table = pivot(stats, [column]).set_index("Model")
    assert table.loc["a", "training"] == f"{RISING} (+0.100)" and table.loc["b", "training"] == CONVERGED
    assert "training" not in pivot(summarize([record("a", 0.6, {}), record("b", 0.4, {})], [column]), [column])


@pytest.fixture(scope="module")
def mopoe_setup(tiny_polymnist):
    train, test = tiny_polymnist
    spec = spec_of(train)
    clfs = {m: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(10)) for m in spec.modalities}
    with torch.no_grad():
        for m, clf in clfs.items():
            clf(test.subset(slice(0, 2)).images[m].float() / 255)
    context = LabelContext(tuple(spec.modalities), clfs, test.specs, torch.device("cpu"), DIGITS)
    return train, test, spec, context


def fit(setup, probes: ProbePlan | None, saved=None, epochs=4):
    train, _, spec, _ = setup
    model = build_model("mopoe", spec, "quick", [], epochs=epochs, batch_size=50)
    hook = None if probes is None else probes.probe(model, seed=0, saved=saved)
    from bench.health import TrainingMonitor

    record = model.fit(train, seed=0, monitor=TrainingMonitor("mopoe", hook=hook))
    return model, record, hook


def test_probes_score_at_the_planned_fractions_and_leave_the_weights_as_they_were(mopoe_setup):
    _, test, _, context = mopoe_setup
    plan = ProbePlan(ProbeConfig(fractions=(0.25, 0.5, 0.75, 1.0), tuples=20), 150, test, context)
    plain, _, _ = fit(mopoe_setup, None)
    probed, record, probe = fit(mopoe_setup, plan)
    for (name, a), b in zip(plain.state_dict().items(), probed.state_dict().values()):
        assert torch.equal(a, b), name
    found = probe.finished(record.seconds)
    assert [p["steps"] for p in found] == [3, 6, 9, 12]  # 4 epochs of 3 batches; a point at each quarter
    assert [p["fraction"] for p in found] == [0.25, 0.5, 0.75, 1.0]
    assert all(0 <= p[k] <= 1 for p in found for k in ("k1", "self", "joint"))
    assert [p["seconds"] for p in found] == sorted(p["seconds"] for p in found)
    # untrained random classifiers on 20 tuples: any settled or unsettled status, but one read from the points
    assert training_status(found, CHANCE)["status"] in (RISING, CONVERGED, UNSTEADY)


def test_points_taken_before_an_interruption_are_kept_and_later_ones_retaken(mopoe_setup, tmp_path):
    _, test, _, context = mopoe_setup
    plan = ProbePlan(ProbeConfig(fractions=(0.25, 0.5, 0.75, 1.0), tuples=20), 150, test, context)
    saved = tmp_path / "points.json"
    earlier = [{"covers": [3], "epoch": 1, "steps": 3, "fraction": 0.25, "seconds": 1.0, "loss": 1.0, "k1": 0.5,
                "self": 0.5, "joint": 0.5},
               {"covers": [6], "epoch": 2, "steps": 6, "fraction": 0.5, "seconds": 2.0, "loss": 1.0, "k1": 0.7,
                "self": 0.5, "joint": 0.5}]
    saved.write_text(json.dumps(earlier))
    model = build_model("mopoe", mopoe_setup[2], "quick", [], epochs=4, batch_size=50)
    probe = plan.probe(model, seed=0, saved=saved)
    probe("training", 1, 6, 1.0, 2.5)  # resumed after epoch 1: the point at step 6 is taken again, step 3 kept
    assert [p["steps"] for p in probe.points] == [3, 6] and probe.points[0]["k1"] == 0.5
    assert probe.points[1]["k1"] != 0.7 and probe.points[1]["seconds"] == 2.5
    assert [p["steps"] for p in json.loads(saved.read_text())] == [3, 6]
    probe.finished(3.0)
    assert not saved.exists()
