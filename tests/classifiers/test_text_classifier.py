"""The text classifier (MoPoE ``ClfText`` design) and the classifier factories a suite chooses per kind."""

import pytest
import torch
import torch.nn.functional as F

from bench.data.dataset import MultimodalDataset
from bench.data.kinds import ModalitySpec
from bench.suites.mnist_svhn_text.data import ALPHABET, LENGTH, TEXT, digit_texts, with_text
from bench.errors import BenchError
from bench.suites.mnist_svhn_text.nets import NETWORKS
from classifiers.nets import DigitClassifier, TextClassifier, digit_classifier
from classifiers.train import ClassifierConfig, classifier_accuracy, train_classifiers

QUICK = ClassifierConfig(epochs=8, batch_size=64, lr=2e-3)  # the quick scale's (bench.suites.base.standard_scales)


def one_hot_text(n: int, seed: int) -> torch.Tensor:
    tokens = torch.randint(0, len(ALPHABET), (n, LENGTH), generator=torch.Generator().manual_seed(seed))
    return F.one_hot(tokens, len(ALPHABET)).float()


def text_dataset(n: int, seed: int) -> MultimodalDataset:
    labels = torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(seed))
    return MultimodalDataset({"text": digit_texts(labels, seed=seed)}, labels, {"text": TEXT})


def test_shapes_and_feature_layers():
    clf = TextClassifier(len(ALPHABET)).eval()
    x = one_hot_text(4, 0)
    assert clf(x).shape == (4, 10)
    assert clf.features(x).shape == (4, 128)
    assert clf.features(x, "penultimate").shape == (4, 128)
    assert torch.allclose(clf.features(x, "logits"), clf(x))
    with pytest.raises(ValueError, match="unknown feature layer"):
        clf.features(x, "conv")


def test_the_blocks_take_length_8_to_1():
    clf = TextClassifier(len(ALPHABET)).eval()
    h = clf.body[0](one_hot_text(3, 1).transpose(1, 2))
    assert h.shape == (3, 128, 8)
    h = clf.body[1](h)
    assert h.shape == (3, 192, 4)
    assert clf.body[2](h).shape == (3, 128, 1)
    with pytest.raises(ValueError, match="length"):
        TextClassifier(len(ALPHABET), length=7)


def test_eval_mode_is_deterministic_and_per_item():
    clf = TextClassifier(len(ALPHABET)).eval()
    x = one_hot_text(5, 2)
    assert torch.equal(clf(x), clf(x))
    assert torch.allclose(clf(x[:1]), clf(x)[:1], atol=1e-6)  # running BatchNorm statistics: no batch coupling


def test_the_suite_builds_a_classifier_per_kind():
    text = NETWORKS.build("classifier", TEXT)
    assert isinstance(text, TextClassifier) and text.training
    assert text.eval()(one_hot_text(2, 3)).shape == (2, 10)
    for shape in [(1, 28, 28), (3, 32, 32)]:
        clf = NETWORKS.build("classifier", ModalitySpec("image", shape))
        assert isinstance(clf, DigitClassifier)
        assert clf.eval()(torch.rand(2, *shape)).shape == (2, 10)
    assert NETWORKS.build("classifier", TEXT, n_classes=4).eval()(one_hot_text(2, 3)).shape == (2, 4)
    with pytest.raises(BenchError, match="suite mnist_svhn_text has no 'classifier' networks for audio"):
        NETWORKS.build("classifier", ModalitySpec("audio", (16000,)))


def test_the_image_factory_draws_what_digitclassifier_drew():
    torch.manual_seed(0)
    built = digit_classifier((3, 32, 32))
    torch.manual_seed(0)
    direct = DigitClassifier(in_channels=3, image_size=32)
    for (k, a), b in zip(built.state_dict().items(), direct.state_dict().values()):
        assert torch.equal(a, b), k


def test_text_classifier_learns_digit_names_within_the_quick_preset():
    clfs, record = train_classifiers(text_dataset(300, 0), QUICK, networks=NETWORKS, seed=0)
    assert isinstance(clfs["text"], TextClassifier) and not clfs["text"].training
    assert record["losses"][-1] < record["losses"][0]
    assert classifier_accuracy(clfs, text_dataset(500, 1))["text"] > 0.95


def random_images(n: int, seed: int) -> MultimodalDataset:
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)
    grey = torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8)
    colour = torch.randint(0, 256, (n, 3, 12, 12), generator=g, dtype=torch.uint8)
    return MultimodalDataset({"grey": grey, "colour": colour}, labels)


def test_train_classifiers_on_images_and_text():
    # 257 tuples in batches of 64 end with a batch of one: the text classifier (BatchNorm) skips it, the images don't
    train = with_text(random_images(257, 0), seed=0)
    clfs, record = train_classifiers(train, QUICK, networks=NETWORKS, seed=0)
    assert list(clfs) == ["grey", "colour", "text"]
    assert isinstance(clfs["grey"], DigitClassifier) and isinstance(clfs["colour"], DigitClassifier)
    assert isinstance(clfs["text"], TextClassifier)
    assert len(record["losses"]) == 8 and all(torch.isfinite(torch.tensor(record["losses"])))
    test = with_text(random_images(300, 1), seed=1)
    accuracy = classifier_accuracy(clfs, test)
    assert set(accuracy) == {"grey", "colour", "text"}
    assert accuracy["text"] > 0.95, accuracy
    x, _ = next(test.batches(16))
    for m, clf in clfs.items():
        assert clf.features(x[m]).shape == (16, 128)
