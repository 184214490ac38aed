"""Coherence on synthetic 1x8x8 tuples whose label is written in the pixels, scored by hand-made classifiers
(``fakes``)."""

import json
import math
from itertools import combinations

import pytest
import torch

from bench.metrics.coherence import CoherenceResult, evaluate_coherence, scored_pairs
from bench.metrics.subsets import subset_members
from tests.specs import suite_spec
from tests.bench.metrics.fakes import (
    N_CLASSES,
    CountingModel,
    MaskModel,
    NoiseModel,
    OracleModel,
    make_classifiers,
    make_dataset,
    predictions,
    real_float,
)


def test_oracle_conditional_equals_classifier_accuracy_and_joint_equals_agreement():
    data = make_dataset()
    classifiers = make_classifiers()
    result = evaluate_coherence(OracleModel(data), data, classifiers, batch_size=32)

    preds = predictions(classifiers, real_float(data))
    labels = data.labels.tolist()
    for t, m in enumerate(data.modalities):
        accuracy = sum(p == y for p, y in zip(preds[m], labels)) / len(data)
        assert accuracy == pytest.approx(1 - data.images[m][:, 0, 0, 0].float().mean().item() / 255)
        assert 0.5 < accuracy < 1
        scored = scored_pairs(3)[:, t]
        assert torch.allclose(result.conditional[scored, t], torch.full((int(scored.sum()),), accuracy, dtype=torch.float64))
        assert result.conditional[~scored, t].isnan().all()  # reconstructions from |S| > 1 are not scored
    agree = sum(len({preds[m][i] for m in data.modalities}) == 1 for i in range(len(data))) / len(data)
    assert 0 < agree < 1
    assert result.joint == pytest.approx(agree)
    assert result.n_test == len(data) and result.n_joint == len(data)


def test_noise_model_is_at_chance():
    data = make_dataset()
    result = evaluate_coherence(
        NoiseModel(data.modalities), data, make_classifiers(), batch_size=32, generator=torch.Generator().manual_seed(1)
    )
    assert abs(result.conditional.nanmean().item() - 1 / N_CLASSES) < 0.03
    assert result.conditional.nan_to_num().max().item() < 0.25
    assert all(abs(v - 1 / N_CLASSES) < 0.05 for v in result.by_size().values())
    assert result.joint < 0.05


@pytest.mark.parametrize("m", [2, 3, 4])
def test_matches_brute_force_loop_over_subsets(m):
    data = make_dataset(m=m, n=90, seed=m)
    classifiers = make_classifiers(m)
    model = MaskModel(data)
    result = evaluate_coherence(model, data, classifiers, batch_size=16, reconstructions=True)
    scored = scored_pairs(m)
    default = evaluate_coherence(model, data, classifiers, batch_size=16)
    assert torch.equal(default.conditional[scored], result.conditional[scored])
    assert default.conditional[~scored].isnan().all()

    real, labels, n = real_float(data), data.labels.tolist(), len(data)
    accuracy = {}
    for k in range(1, m + 1):
        for s in combinations(range(m), k):
            observed = torch.zeros(n, m, dtype=torch.bool)
            observed[:, list(s)] = True
            preds = predictions(classifiers, model.generate(real, observed))
            for t in range(m):
                accuracy[s, t] = sum(p == y for p, y in zip(preds[f"m{t}"], labels)) / n

    for row, values in zip(result.subsets, result.conditional.tolist()):
        for t, value in enumerate(values):
            assert value == pytest.approx(accuracy[subset_members(row), t], abs=1e-12)
    by_size = {
        k: [accuracy[s, t] for s in combinations(range(m), k) for t in range(m) if t not in s] for k in range(1, m)
    }
    expected = {k: sum(v) / len(v) for k, v in by_size.items()}
    assert result.by_size() == pytest.approx(expected, abs=1e-12)
    loo = {f"m{t}": accuracy[tuple(i for i in range(m) if i != t), t] for t in range(m)}
    loo["mean"] = sum(loo.values()) / m
    assert result.leave_one_out() == pytest.approx(loo, abs=1e-12)
    if m > 2:
        assert len({round(v, 9) for v in expected.values()}) > 1  # the mask really changes the scores


def test_one_generate_call_per_test_batch_covering_every_tuple_under_every_subset():
    data = make_dataset(n=100)
    model = CountingModel(data)
    result = evaluate_coherence(model, data, make_classifiers(), batch_size=32, n_joint=250)

    assert len(model.generate_calls) == math.ceil(100 / 32)
    pairs = set()
    for ids, observed in model.generate_calls:
        assert observed.dtype == torch.bool and observed.shape == (len(ids), 3) and len(ids) <= 32 * 7
        pairs |= {(i, tuple(row)) for i, row in zip(ids, observed.tolist())}
    assert len(pairs) == 100 * 7 == sum(len(ids) for ids, _ in model.generate_calls)
    assert {i for i, _ in pairs} == set(range(100))
    assert result.n_test == 100
    assert sum(model.sample_calls) == 250 == result.n_joint
    assert max(model.sample_calls) <= 32 * 7


def test_classifiers_run_in_eval_mode_without_grad():
    data = make_dataset()
    classifiers = make_classifiers()
    expected = evaluate_coherence(OracleModel(data), data, classifiers, batch_size=32)
    for clf in classifiers.values():
        clf.train()
        clf.seen.clear()
    result = evaluate_coherence(OracleModel(data), data, classifiers, batch_size=32)

    assert torch.equal(result.conditional.nan_to_num(), expected.conditional.nan_to_num())
    assert result.joint == expected.joint
    assert result.conditional.nan_to_num(1.0).min() > 0.5  # Dropout(p=1) in train mode would leave about 1/10
    for clf in classifiers.values():
        assert clf.seen and all(mode == (False, False) for mode in clf.seen)
        assert not clf.training


def test_values_and_to_dict_are_json_ready_and_name_each_number_once():
    data = make_dataset()
    result = evaluate_coherence(OracleModel(data), data, make_classifiers(), batch_size=64)
    values = json.loads(json.dumps(result.values()))
    assert values["joint"] == result.joint and values["self"] == result.self_reconstruction()
    assert values["k1"] == result.by_size()[1] and values["k2"] == result.by_size()[2] and "k3" not in values
    assert values["m0+m2_to_m1"] == result.conditional[4, 1].item() and values["m2_to_m0"] == result.conditional[2, 0].item()
    assert {"joint_top_share", "joint_chance"} <= set(values)
    d = json.loads(json.dumps(result.to_dict()))
    assert not set(d) & set(values)  # the record's numbers are ``values``; the detail does not repeat them
    assert d["n_test"] == 100 and d["modalities"] == ["m0", "m1", "m2"]
    assert d["leave_one_out"] == result.leave_one_out()
    assert list(d["conditional"]) == ["m0", "m1", "m2", "m0+m1", "m0+m2", "m1+m2", "m0+m1+m2"]
    assert d["conditional"]["m0+m2"]["m1"] == result.conditional[4, 1].item()
    assert set(d["conditional"]["m0+m2"]) == {"m1"} and set(d["conditional"]["m0"]) == {"m0", "m1", "m2"}


def test_result_validates_shapes():
    with pytest.raises(ValueError):
        CoherenceResult(("a", "b"), torch.ones(3, 2, dtype=torch.bool), torch.zeros(3, 3, dtype=torch.float64), 0.0, 1, 1)


def test_a_native_model_encodes_each_tuple_once_and_decodes_only_scored_rows(tiny_polymnist):
    """Rows per test tuple through MoPoE's networks and the classifiers, counted by forward hooks (M = 3): 3 encoder
    rows; 9 cross-modal (t not in S) + 3 self-reconstruction + 3 joint-sample rows through decoders and classifiers."""
    import baselines  # noqa: F401
    from bench.interface import build_model

    _, test = tiny_polymnist
    model = build_model("mopoe", suite_spec("polymnist", test.modalities, test.shapes), "quick").eval()
    classifiers = {m: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(10)) for m in test.modalities}
    rows = {"encoder": 0, "decoder": 0, "classifier": 0}

    def count(group):
        def hook(module, inputs, output):
            rows[group] += inputs[0].shape[0]
        return hook

    for group, modules in (("encoder", model.encoders), ("decoder", model.decoders), ("classifier", classifiers.values())):
        for module in modules:
            module.register_forward_hook(count(group))
    evaluate_coherence(model, test, classifiers, batch_size=16, generator=torch.Generator().manual_seed(0))
    assert {group: n / len(test) for group, n in rows.items()} == {"encoder": 3, "decoder": 15, "classifier": 15}
