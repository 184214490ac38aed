"""The one spelling of every metric, the same in run records, CSVs, ``results.json`` and tables:

    <measure>[_<space>]_<condition>

- measure: a label metric's name (``coherence``, plug-ins) or a quality measure of a registered feature metric (``fd``,
  ``precision``, ``recall``, ``density``, ``coverage``, ``kid``, plug-ins; ``bench.metrics.registry``);
- space: the feature space of a quality measure (``clf``, ``inception``); a label metric has none;
- condition: ``joint`` (the unconditional samples, read jointly), ``self`` (each modality from itself alone),
  ``k<K>`` (given K modalities, averaged over subsets and targets not in them), ``uncond`` (the unconditional
  samples, mean over modalities), a modality (its unconditional samples), ``<a>_to_<b>`` (b given a alone) or
  ``<a>+<b>_to_<c>`` (c given a and b); a metric may add its own (coherence: ``joint_top_share``,
  ``joint_chance``; with labels of several attributes ``chance`` and ``<condition>_at_<attribute>``).

Every key is built here (``metric_key`` with ``given``, ``direction``), and ``METRIC_KEY`` matches them all
(``bench/schemas/results.schema.json`` holds the same pattern).
"""

from __future__ import annotations

import re
from typing import Sequence

JOINT, SELF, UNCOND, CHANCE = "joint", "self", "uncond", "chance"
ATTRIBUTE_SEPARATOR = "_at_"  # a condition restricted to one attribute of the labels: "mnist_to_svhn_at_size"
SUBSET_SEPARATOR = "+"  # between the members of a subset, in modality order: "m0+m2"

METRIC_KEY = re.compile(r"^[a-z][a-z0-9]*(_[a-z][a-z0-9]*)?_([A-Za-z0-9+]+_to_[A-Za-z0-9]+|[A-Za-z0-9_]+)$")


def metric_key(measure: str, condition: str, space: str | None = None) -> str:
    """``<measure>[_<space>]_<condition>``, e.g. ``metric_key("fd", given(1), "clf") == "fd_clf_k1"``."""
    return f"{measure}_{space}_{condition}" if space else f"{measure}_{condition}"


def given(k: int) -> str:
    """The condition "given k modalities": ``k<k>``."""
    return f"k{k}"


def at_attribute(condition: str, attribute: str) -> str:
    """``condition`` scored on one attribute of the labels only: ``<condition>_at_<attribute>``."""
    return f"{condition}{ATTRIBUTE_SEPARATOR}{attribute}"


def direction(sources: str | Sequence[str], target: str) -> str:
    """The condition "``target`` given ``sources``": ``<a>_to_<b>`` or ``<a>+<b>_to_<c>``."""
    members = [sources] if isinstance(sources, str) else list(sources)
    return f"{SUBSET_SEPARATOR.join(members)}_to_{target}"
