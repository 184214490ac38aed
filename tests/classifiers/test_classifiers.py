import pytest
import torch

from bench.data.dataset import MultimodalDataset
from classifiers.nets import DigitClassifier
from bench.suites.mnist_svhn.nets import NETWORKS as MNIST_SVHN
from bench.suites.polymnist.nets import NETWORKS as POLYMNIST
from classifiers.train import ClassifierConfig, classifier_accuracy, train_classifiers

QUICK = ClassifierConfig(epochs=8, batch_size=64, lr=2e-3)  # the quick scale's (bench.suites.base.standard_scales)


def bar_dataset(n: int, seed: int) -> MultimodalDataset:
    """Label y drawn as a bright vertical bar at column 2 + 2y, on noise; m1 uses rows instead of columns."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    base = torch.randint(0, 100, (n, 3, 28, 28), generator=g, dtype=torch.uint8)
    m0, m1 = base.clone(), base.flip(0).clone()
    for i, y in enumerate(labels.tolist()):
        m0[i, :, :, 2 + 2 * y : 4 + 2 * y] = 255
        m1[i, :, 2 + 2 * y : 4 + 2 * y, :] = 255
    return MultimodalDataset({"m0": m0, "m1": m1}, labels)


def test_shapes_and_feature_layers():
    clf = DigitClassifier().eval()
    x = torch.rand(4, 3, 28, 28)
    assert clf(x).shape == (4, 10)
    assert clf.features(x).shape == (4, 128)
    assert torch.allclose(clf.features(x, "logits"), clf(x))


def test_classifiers_learn_each_modality():
    train, test = bar_dataset(400, 0), bar_dataset(200, 1)
    clfs, record = train_classifiers(train, ClassifierConfig(epochs=6, batch_size=32), networks=POLYMNIST, seed=0)
    assert record["losses"][-1] < record["losses"][0]
    accuracy = classifier_accuracy(clfs, test)
    assert set(accuracy) == {"m0", "m1"}
    assert min(accuracy.values()) > 0.9, accuracy


def test_accuracy_is_measured_in_eval_mode():
    train = bar_dataset(50, 0)
    clf = DigitClassifier().train()
    first = classifier_accuracy({"m0": clf}, train)
    clf.train()  # dropout would make a second call differ if it stayed on
    assert classifier_accuracy({"m0": clf}, train) == first
    assert not clf.training


def test_training_is_seeded():
    train = bar_dataset(60, 0)
    a, _ = train_classifiers(train, ClassifierConfig(epochs=1, batch_size=16), networks=POLYMNIST, seed=3)
    b, _ = train_classifiers(train, ClassifierConfig(epochs=1, batch_size=16), networks=POLYMNIST, seed=3)
    for m in a:
        for (k, va), vb in zip(a[m].state_dict().items(), b[m].state_dict().values()):
            assert torch.equal(va, vb), k


def test_the_classifier_takes_svhn_sized_and_grey_inputs():
    svhn = DigitClassifier(in_channels=3, image_size=32).eval()
    mnist = DigitClassifier(in_channels=1, image_size=28).eval()
    assert svhn(torch.rand(2, 3, 32, 32)).shape == (2, 10) and svhn.features(torch.rand(2, 3, 32, 32)).shape == (2, 128)
    assert mnist(torch.rand(2, 1, 28, 28)).shape == (2, 10)


def random_mnist_svhn(n: int, seed: int) -> MultimodalDataset:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)
    mnist = torch.randint(0, 256, (n, 1, 28, 28), generator=g, dtype=torch.uint8)
    svhn = torch.randint(0, 256, (n, 3, 32, 32), generator=g, dtype=torch.uint8)
    return MultimodalDataset({"mnist": mnist, "svhn": svhn}, labels)


# (sum, sum of squares) of every tensor of the classifiers trained below, recorded with the code before the classifiers
# were built per modality kind (and then from the suite's networks), when train_classifiers built DigitClassifiers
# itself; SHA-256 of all their bytes then (CPU torch):
# 443f2b5978c1465d5030037263d5ae6acd8119eda847ef7d7d45a3108c29ce9e.
# Compared with a tolerance so that another BLAS build passes; a different initialisation or RNG use fails by far.
IMAGE_WEIGHTS_BEFORE_KINDS = {
    ("mnist", "body.0.weight"): (-1.182255608, 3.554139528),
    ("mnist", "body.0.bias"): (0.8249854092, 0.1585140228),
    ("mnist", "body.3.weight"): (-7.109014569, 6.796630091),
    ("mnist", "body.3.bias"): (-0.1381402314, 0.06010726583),
    ("mnist", "body.7.weight"): (-189.2575523, 53.11119759),
    ("mnist", "body.7.bias"): (-0.3068290027, 0.05213355968),
    ("mnist", "head.weight"): (-1.756550037, 3.355964739),
    ("mnist", "head.bias"): (0.06739429804, 0.01825387035),
    ("svhn", "body.0.weight"): (-0.3798078705, 3.287172088),
    ("svhn", "body.0.bias"): (0.3326620087, 0.05760456226),
    ("svhn", "body.3.weight"): (-1.981101221, 7.088477484),
    ("svhn", "body.3.bias"): (-0.1247901998, 0.0490518677),
    ("svhn", "body.7.weight"): (-127.3614764, 57.40120666),
    ("svhn", "body.7.bias"): (-0.2019954536, 0.04699133557),
    ("svhn", "head.weight"): (-2.524071926, 3.390185545),
    ("svhn", "head.bias"): (-0.2901076986, 0.03134928124),
}


def test_image_classifier_weights_are_those_of_before_the_kinds():
    clfs, _ = train_classifiers(random_mnist_svhn(96, 0), QUICK, networks=MNIST_SVHN, seed=5)
    got = {(m, k): (v.double().sum().item(), v.double().square().sum().item())
           for m, c in clfs.items() for k, v in c.state_dict().items()}
    assert set(got) == set(IMAGE_WEIGHTS_BEFORE_KINDS)
    for key, (total, squares) in IMAGE_WEIGHTS_BEFORE_KINDS.items():
        assert got[key][0] == pytest.approx(total, rel=1e-4, abs=1e-4), key
        assert got[key][1] == pytest.approx(squares, rel=1e-4, abs=1e-4), key


def test_a_non_finite_loss_stops_the_classifiers_with_one_clear_error(monkeypatch):
    from bench.health import Diverged

    monkeypatch.setattr(DigitClassifier, "forward",
                        lambda self, x: torch.full((len(x), 10), float("nan"), requires_grad=True))
    with pytest.raises(Diverged, match="classifiers loss diverged at epoch 1"):
        train_classifiers(bar_dataset(40, 0), ClassifierConfig(epochs=2, batch_size=16), networks=POLYMNIST, seed=0)
