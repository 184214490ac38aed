"""Code versions in cache keys: the checked-in fingerprints match the code, an unversioned source change is caught,
and a version change changes the model's cache key."""

import json

from bench.config import RunConfig
from bench.interface import build_model
from bench.interface import code_version
from bench.versions import FINGERPRINTS, components, current, source_digest, stale
from tests.specs import suite_spec


def test_the_checked_in_fingerprints_match_the_code():
    problems = stale(json.loads(FINGERPRINTS.read_text()), current())
    assert not problems, (
        "\n".join(problems) + "\nraise the VERSION of a component whose numbers can change, then run "
        "python -m tools.fingerprints --update (or --update --same-numbers when no number can change)"
    )


def test_an_unversioned_source_change_is_caught_and_a_versioned_one_is_not_silent():
    now = current()
    mopoe = now["model mopoe"]
    edited = source_digest(mopoe["modules"], read=lambda p: p.read_bytes() + (b"# edit\n" if p.name == "mopoe.py" else b""))
    assert edited != mopoe["sha256"]
    silent = {**now, "model mopoe": {**mopoe, "sha256": edited}}
    assert any("model mopoe" in p and "version is still" in p for p in stale(now, silent))
    bumped = {**now, "model mopoe": {**mopoe, "sha256": edited, "version": [["MoPoE", 2], ["MultimodalVAE", 1]]}}
    assert [p for p in stale(now, bumped) if "model mopoe" in p] == [
        "model mopoe: changed (version [['MoPoE', 1], ['MultimodalVAE', 1]] -> [['MoPoE', 2], ['MultimodalVAE', 1]]) "
        "and not yet recorded"
    ]
    assert stale(now, now) == []


def test_the_fingerprint_follows_imports_into_likelihoods_and_suite_networks():
    modules = {c.name: c.modules() for c in components()}
    assert {"baselines.vae", "baselines.nets", "bench.likelihoods"} <= set(modules["model mopoe"])
    assert {"mld.score_net", "mld.autoencoders"} <= set(modules["model mld"])
    assert {"bench.suites.polymnist.nets", "classifiers.nets"} <= set(modules["networks polymnist"])
    assert "bench.suites.polymnist.presets" not in modules["data polymnist"]  # configs are in the keys
    assert "bench.errors" not in modules["model mopoe"]  # plumbing never touches numbers


def test_a_version_change_changes_the_model_key(monkeypatch):
    from baselines.mopoe import MoPoE
    from bench.model_stage import model_key

    spec = suite_spec("polymnist", ("m0", "m1"), {"m0": (3, 28, 28), "m1": (3, 28, 28)})
    model = build_model("mopoe", spec, "quick")
    cfg = RunConfig(suite="polymnist")
    before = model_key(model, "mopoe", "data", 0, cfg, spec)
    monkeypatch.setattr(MoPoE, "VERSION", 2)
    assert code_version(MoPoE) == [["MoPoE", 2], ["MultimodalVAE", 1]]
    assert model_key(model, "mopoe", "data", 0, cfg, spec) != before
    monkeypatch.undo()
    assert model_key(model, "mopoe", "data", 0, cfg, spec) == before
