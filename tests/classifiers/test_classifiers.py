import torch

from bench.data.dataset import MultimodalDataset
from classifiers.nets import DigitClassifier
from classifiers.train import ClassifierConfig, classifier_accuracy, train_classifiers


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
    clfs, record = train_classifiers(train, ClassifierConfig(epochs=6, batch_size=32), seed=0)
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
    a, _ = train_classifiers(train, ClassifierConfig(epochs=1, batch_size=16), seed=3)
    b, _ = train_classifiers(train, ClassifierConfig(epochs=1, batch_size=16), seed=3)
    for m in a:
        for (k, va), vb in zip(a[m].state_dict().items(), b[m].state_dict().values()):
            assert torch.equal(va, vb), k


def test_the_classifier_takes_svhn_sized_and_grey_inputs():
    svhn = DigitClassifier(in_channels=3, image_size=32).eval()
    mnist = DigitClassifier(in_channels=1, image_size=28).eval()
    assert svhn(torch.rand(2, 3, 32, 32)).shape == (2, 10) and svhn.features(torch.rand(2, 3, 32, 32)).shape == (2, 128)
    assert mnist(torch.rand(2, 1, 28, 28)).shape == (2, 10)
