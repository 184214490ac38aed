"""MNIST-SVHN loaders on tiny files written here in the real formats (gzipped IDX, MATLAB v5 .mat), the seeded
label-matched pairing and its index files, and the offline stand-in."""

import gzip
import re
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.io import savemat

from bench.suites.mnist_svhn.data import (
    LIGHT_ON_DARK,
    build_stand_in,
    load_mnist_svhn,
    load_svhn_mat,
    pair_by_label,
    pairing_files,
    render_digit,
)
from bench.errors import BenchError


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">BBBB", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def svhn_arrays(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """SVHN's .mat layout: X uint8 (32, 32, 3, N), y uint8 (N, 1) with digit 0 stored as 10."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (32, 32, 3, len(labels)), dtype=np.uint8)
    y = np.where(labels == 0, 10, labels).astype(np.uint8).reshape(-1, 1)
    return x, y


def write_real_files(root: Path, mnist_counts=(3, 5), svhn_counts=(4, 2)) -> dict:
    """MNIST raw (gz IDX) and SVHN .mat for train and test: per class l, mnist_counts[l % 2] and svhn_counts[l % 2]
    instances, so that the smaller side alternates between the datasets."""
    labels = {}
    for split, prefix, seed in (("train", "train", 0), ("test", "t10k", 1)):
        rng = np.random.default_rng(seed)
        lm = rng.permutation(np.concatenate([np.full(mnist_counts[c % 2], c) for c in range(10)]))
        ls = rng.permutation(np.concatenate([np.full(svhn_counts[c % 2], c) for c in range(10)]))
        digits = (lm[:, None, None] * 20 + rng.integers(0, 20, (len(lm), 28, 28))).astype(np.uint8)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-images-idx3-ubyte.gz", digits)
        write_idx(root / "MNIST" / "raw" / f"{prefix}-labels-idx1-ubyte.gz", lm)
        x, y = svhn_arrays(ls, seed)
        (root / "SVHN").mkdir(parents=True, exist_ok=True)
        savemat(root / "SVHN" / f"{split}_32x32.mat", {"X": x, "y": y})
        labels[split] = (lm, ls, x)
    return labels


def test_svhn_mat_layout_and_label_10_is_zero(tmp_path):
    labels = np.array([0, 1, 9, 0, 5])
    x, y = svhn_arrays(labels, seed=3)
    savemat(tmp_path / "test_32x32.mat", {"X": x, "y": y})
    images, read_labels = load_svhn_mat(tmp_path / "test_32x32.mat")
    assert images.shape == (5, 3, 32, 32) and images.dtype == np.uint8
    assert read_labels.tolist() == [0, 1, 9, 0, 5] and 10 in y
    assert images[2, 1, 7, 30] == x[7, 30, 1, 2]  # (h, w, c, n) -> (n, c, h, w)


@pytest.mark.parametrize("content, message", [(b"not a mat file", "not a readable SVHN"), (None, "lacks the SVHN arrays")])
def test_bad_svhn_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "train_32x32.mat"
    if content is None:
        savemat(path, {"images": np.zeros((2, 2), dtype=np.uint8)})
    else:
        path.write_bytes(content)
    with pytest.raises(BenchError, match=message) as err:
        load_svhn_mat(path)
    assert str(path) in str(err.value) and "download" in err.value.fix


def test_pairing_invariants():
    rng = np.random.default_rng(0)
    labels_a = rng.integers(0, 10, 300)
    labels_b = rng.integers(0, 10, 200)
    dm = 4
    idx_a, idx_b = pair_by_label(labels_a, labels_b, dm=dm, seed=7)
    assert idx_a.dtype == idx_b.dtype == np.int64 and idx_a.shape == idx_b.shape
    assert np.array_equal(labels_a[idx_a], labels_b[idx_b])  # same label in every pair
    for label in range(10):
        members_a, members_b = np.flatnonzero(labels_a == label), np.flatnonzero(labels_b == label)
        n = min(len(members_a), len(members_b))
        kept_a, counts_a = np.unique(idx_a[labels_a[idx_a] == label], return_counts=True)
        kept_b, counts_b = np.unique(idx_b[labels_b[idx_b] == label], return_counts=True)
        assert np.array_equal(kept_a, members_a[:n]) and np.array_equal(kept_b, members_b[:n])  # the first n
        assert (counts_a == dm).all() and (counts_b == dm).all()  # each kept instance exactly dm times
    again = pair_by_label(labels_a, labels_b, dm=dm, seed=7)
    other = pair_by_label(labels_a, labels_b, dm=dm, seed=8)
    assert np.array_equal(again[0], idx_a) and np.array_equal(again[1], idx_b)
    assert not np.array_equal(other[1], idx_b)
    capped = pair_by_label(labels_a, labels_b, dm=1, seed=0, max_per_class=3)[0]
    assert len(capped) == 30


def test_real_files_load_pair_and_save_index_files(tmp_path):
    labels = write_real_files(tmp_path)
    train, test, manifest = load_mnist_svhn(tmp_path, dm=3, seed=5)
    assert train.shapes == {"mnist": (1, 28, 28), "svhn": (3, 32, 32)}
    assert len(train) == len(test) == 3 * (5 * 3 + 5 * 2)  # dm x (even classes min(3, 4) + odd min(5, 2))
    assert manifest["counts"]["train"]["pairs"] == len(train)
    folder = tmp_path / "mnist_svhn_pairs" / "dm3-seed5"
    lm, ls, x = labels["train"]
    idx_m = torch.load(pairing_files(folder, "train")[0], weights_only=True).numpy()
    idx_s = torch.load(pairing_files(folder, "train")[1], weights_only=True).numpy()
    assert np.array_equal(lm[idx_m], ls[idx_s]) and np.array_equal(train.labels.numpy(), lm[idx_m])
    assert torch.equal(train.images["svhn"][0], torch.from_numpy(x[..., idx_s[0]].transpose(2, 0, 1).copy()))
    mtimes = [p.stat().st_mtime_ns for p in folder.iterdir()]
    train_again, _, _ = load_mnist_svhn(tmp_path, dm=3, seed=5)  # same seed: the saved files, unchanged
    assert [p.stat().st_mtime_ns for p in folder.iterdir()] == mtimes
    assert torch.equal(train_again.images["mnist"], train.images["mnist"])
    other = tmp_path / "copy"
    write_real_files(other)
    assert np.array_equal(load_mnist_svhn(other, dm=3, seed=5)[0].labels, train.labels)  # reproducible from the seed


def test_the_pairing_goes_to_the_runs_cache_and_never_into_the_data_folder(tmp_path):
    """The data folder may be read-only: the suite writes its pairing under the run's cache (``derived``), and reads
    a pairing the user keeps in the data folder when all four index files are there."""
    from bench.registry import SUITES

    root, cache = tmp_path / "data", tmp_path / "cache"
    write_real_files(root)
    before = sorted(p.relative_to(root) for p in root.rglob("*"))
    suite = SUITES.get("mnist_svhn")()
    train, _, _ = suite.load_data(str(root), derived=cache)
    assert sorted(p.relative_to(root) for p in root.rglob("*")) == before
    pairs = Path("mnist_svhn_pairs") / f"dm{suite.dm}-seed{suite.data_seed}"
    assert all(p.is_file() for split in ("train", "test") for p in pairing_files(cache / pairs, split))
    (root / pairs).mkdir(parents=True)
    for split in ("train", "test"):  # the user's own pairing: the cached one reversed
        for ours, theirs in zip(pairing_files(cache / pairs, split), pairing_files(root / pairs, split)):
            torch.save(torch.load(ours, weights_only=True).flip(0), theirs)
    again, _, _ = suite.load_data(str(root), derived=tmp_path / "other-cache")
    assert torch.equal(again.labels, train.labels.flip(0)) and not (tmp_path / "other-cache").exists()


def test_index_files_that_do_not_fit_the_data_are_refused(tmp_path):
    write_real_files(tmp_path)
    load_mnist_svhn(tmp_path, dm=2, seed=0)
    path_m, _ = pairing_files(tmp_path / "mnist_svhn_pairs" / "dm2-seed0", "test")
    idx = torch.load(path_m, weights_only=True)
    torch.save(idx.flip(0), path_m)  # pairs of different labels now
    with pytest.raises(BenchError, match="do not pair same-label items"):
        load_mnist_svhn(tmp_path, dm=2, seed=0)


@pytest.mark.parametrize("content, message", [({"idx": torch.arange(3)}, "holds a dict"),
                                              (torch.zeros(3), "holds a torch.float32 tensor of shape (3,)")])
def test_index_files_of_another_type_are_one_clear_error(tmp_path, content, message):
    write_real_files(tmp_path)
    load_mnist_svhn(tmp_path, dm=2, seed=0)
    path_m, _ = pairing_files(tmp_path / "mnist_svhn_pairs" / "dm2-seed0", "train")
    torch.save(content, path_m)
    with pytest.raises(BenchError, match=re.escape(message)):
        load_mnist_svhn(tmp_path, dm=2, seed=0)


def test_missing_files_are_one_error_naming_them_and_download(tmp_path):
    (tmp_path / "SVHN").mkdir()
    with pytest.raises(BenchError) as err:
        load_mnist_svhn(tmp_path)
    text = f"{err.value} {err.value.fix}"
    for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte", "train_32x32.mat", "test_32x32.mat"):
        assert name in text
    assert "--download" in text
    assert err.value.fix.count("torchvision.datasets.MNIST") == 1 and err.value.fix.count("SVHN(") == 1  # each fix once
    assert len(err.value.problem.splitlines()) == 5  # a heading, then one missing path per line


def test_rendered_digits_and_the_stand_in():
    rng = np.random.default_rng(0)
    image = render_digit(7, rng)
    assert image.shape == (3, 32, 32) and image.dtype == np.uint8 and image.std() > 20
    train, test, manifest = build_stand_in(dm=2, seed=0)
    assert train.shapes == {"mnist": (1, 28, 28), "svhn": (3, 32, 32)}
    assert len(train) == 2 * 4000 and len(test) == 2 * 1000
    assert manifest["counts"]["train"]["mnist_used"] == 4000 and "not SVHN" in manifest["source"]
    assert torch.bincount(train.labels).tolist() == [800] * 10



def _centre_contrast(share: float, n: int = 120) -> float:
    """Mean luminance of the centre columns minus the side columns over ``n`` renderings of the digit 1 (a
    vertical stroke in the middle): positive when the digit is lighter than its background in the class mean."""
    rng = np.random.default_rng(0)
    mean = np.mean([render_digit(1, rng, light_on_dark=share).astype(np.float64).mean(0) for _ in range(n)], axis=0)
    return float(mean[:, 13:19].mean() - np.concatenate([mean[:, :6], mean[:, 26:]], axis=1).mean())


def test_the_digit_survives_in_the_class_mean_image():
    light, dark, default = _centre_contrast(1.0), _centre_contrast(0.0), _centre_contrast(LIGHT_ON_DARK)
    assert light > 30 and dark < -30
    assert 0.25 * light < default < 0.75 * light  # about (2 * 0.75 - 1) of the one-polarity contrast
