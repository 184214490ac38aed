"""Coherence with labels of several attributes (``bench.data.labels``): tuples of two 1x8x8 modalities whose two
attributes are written in two pixels, read back by hand-made classifiers that err on a known share of one attribute,
checked against a brute-force count."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bench.data.dataset import MultimodalDataset, quantize
from bench.data.labels import DIGITS, LabelSpace
from bench.metrics.coherence import evaluate_coherence
from bench.metrics.names import at_attribute
from tests.bench.metrics.fakes import OracleModel

SPACE = LabelSpace((4, 3), ("colour", "size"))


def attribute_data(n: int = 120, seed: int = 0) -> MultimodalDataset:
    g = torch.Generator().manual_seed(seed)
    labels = torch.stack([torch.randint(0, k, (n,), generator=g) for k in SPACE.classes], dim=1)
    images = {}
    for t in range(2):
        x = torch.zeros(n, 1, 8, 8)
        x[:, 0, 4, 4] = (labels[:, 0].float() + 0.5) / 4
        x[:, 0, 4, 5] = (labels[:, 1].float() + 0.5) / 3
        x[:, 0, 0, 0] = (torch.rand(n, generator=g) < 0.2 + 0.1 * t).float()  # this classifier misreads the size
        images[f"m{t}"] = (x * 255).round().to(torch.uint8)
    return MultimodalDataset(images, labels)


class AttributeClassifier(nn.Module):
    """Logits of both attributes, concatenated: (B, 4 + 3); the size is shifted by one where the flag is set."""

    def forward(self, x):
        colour = (x[:, 0, 4, 4] * 4).floor().long().clamp(0, 3)
        size = (x[:, 0, 4, 5] * 3).floor().long().clamp(0, 2)
        size = torch.where(x[:, 0, 0, 0] > 0.5, (size + 1) % 3, size)
        return torch.cat([F.one_hot(colour, 4), F.one_hot(size, 3)], dim=1).float()


def test_label_space_predicts_and_scores_each_attribute_in_its_own_block():
    logits = torch.tensor([[0.0, 3.0, 1.0, 0.0, 5.0, 0.0, 9.0], [2.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]])
    labels = torch.tensor([[1, 2], [0, 0]])
    assert SPACE.predict(logits).tolist() == [[1, 2], [0, 1]]
    expected = F.cross_entropy(logits[:, :4], labels[:, 0]) + F.cross_entropy(logits[:, 4:], labels[:, 1])
    assert torch.allclose(SPACE.loss(logits, labels), expected)
    assert SPACE.chance == pytest.approx((1 / 4 + 1 / 3) / 2) and SPACE.logits == 7
    digits = torch.randn(5, 10)
    assert torch.equal(DIGITS.predict(digits).squeeze(1), digits.argmax(1))  # one class variable: argmax
    with pytest.raises(ValueError, match="outside"):
        SPACE.check(torch.tensor([[4, 0]]))
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        SPACE.check(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="one name each"):
        LabelSpace((4, 3))


def test_coherence_of_each_attribute_matches_a_brute_force_count_and_the_mean_is_reported():
    data = attribute_data()
    clfs = {m: AttributeClassifier() for m in data.modalities}
    result = evaluate_coherence(OracleModel(data), data, clfs, batch_size=32, label_space=SPACE)
    with torch.no_grad():
        read = {m: SPACE.predict(clfs[m](quantize(data.images[m].float() / 255))) for m in data.modalities}
    for t, m in enumerate(data.modalities):
        per_attribute = (read[m] == data.labels).double().mean(dim=0)  # the oracle returns the real target
        assert per_attribute[0] == 1.0 and 0.5 < per_attribute[1] < 0.9
        for s in range(len(result.subsets)):
            if not result.conditional[s, t].isnan():
                assert torch.allclose(result.per_attribute[s, t], per_attribute)
                assert result.conditional[s, t] == pytest.approx(float(per_attribute.mean()))
    agree = (read["m0"] == read["m1"]).double().mean(dim=0)
    assert result.joint_per_attribute == pytest.approx(agree.tolist())
    assert result.joint == pytest.approx(float(agree.mean()))
    values = result.values()
    size = float((read["m1"][:, 1] == data.labels[:, 1]).double().mean())
    assert values[at_attribute("m0_to_m1", "size")] == pytest.approx(size)
    assert values[at_attribute("joint", "colour")] == 1.0
    assert values[at_attribute("chance", "size")] == pytest.approx(1 / 3) and values["chance"] == SPACE.chance
    assert 0 < values["joint_chance"] < 1 and values["joint_top_share"] < 0.6
