"""Time to score sample quality, and how it grows with the number of generated samples; plus the FD-clf sanity check.

    python -m benchmarks.quality_time [--sizes 125,250,500,1000,2000] [--device auto] [--inception-images 64]

On the embedded default PolyMNIST (5 modalities) with the default-scale classifiers (trained here, about 25 s):

1. Sanity: FD-clf of the real test set against the real train set, and of uniform-noise images against the train
   set, per modality.
2. Scaling: for N test tuples (the test set tiled to N), a stand-in model whose ``generate``/``sample`` return real
   images at no cost goes through one ``generation_pass`` with the coherence counter and the classifier-feature
   collector, as ``bench.run`` does. Reported: seconds for the pass (classify + extract features of every
   generated image: N x 15 conditional (S, t not in S) pairs + N unconditional per modality) and for scoring
   (FD, precision/recall, density/coverage of 75 conditional + 5 unconditional sets of N against N real), next to
   the same pass with the coherence counter alone (what evaluation cost before quality).
   The model's own generation time is excluded: it is the model's, not the metric's.
3. Inception throughput with random weights in pytorch-fid's layout (cost does not depend on the weights):
   images per second at 299x299, and the implied time for FID of one model at N = 500.
"""

from __future__ import annotations

import argparse
import time

import torch

from bench.data.dataset import MultimodalDataset, to_float
from bench.devices import resolve_device
from bench.metrics.coherence import CoherenceCounter
from bench.metrics.features import ClassifierFeatures, InceptionFeatures, fid_inception_net
from bench.metrics.frechet import FeatureStats, frechet_distance
from bench.metrics.generation import generation_pass
from bench.metrics.quality import FeatureCollector, RealFeatures, extract, real_features
from bench.suites.polymnist import PolyMNISTSuite
from bench.suites.polymnist.data import build_embedded
from classifiers.train import classifier_accuracy, train_classifiers


class Replay:
    """Returns the given images (conditional) or real test tuples (unconditional): generation costs nothing."""

    def __init__(self, data: MultimodalDataset, device) -> None:
        self.modalities = data.modalities
        self.real = {m: to_float(v).to(device) for m, v in data.images.items()}

    def generate(self, x, observed, *, generator=None):
        return {m: x[m] for m in self.modalities}

    def sample(self, n, *, generator=None):
        idx = torch.arange(n) % len(next(iter(self.real.values())))
        return {m: v[idx.to(v.device)] for m, v in self.real.items()}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="125,250,500,1000,2000", help="test tuples N (generated per (S, t))")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--inception-images", type=int, default=64, help="images for the Inception throughput (0: skip)")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    torch.manual_seed(0)

    train, test, _ = build_embedded(n_modalities=5, seed=0)
    start = time.perf_counter()
    suite = PolyMNISTSuite()
    clfs, _ = train_classifiers(train, suite.scales["default"].classifier, networks=suite.networks, seed=0, device=device)
    accuracy = ", ".join(f"{m} {a:.3f}" for m, a in classifier_accuracy(clfs, test).items())
    print(f"classifiers (default scale) trained in {time.perf_counter() - start:.1f} s on {device}; test accuracy {accuracy}")
    phi = {m: ClassifierFeatures(c) for m, c in clfs.items()}

    print("\nSanity: FD-clf against the real train set (per modality)")
    g = torch.Generator().manual_seed(0)
    for m in test.modalities:
        reference = FeatureStats.from_features(real_features(train, m, phi[m], device))
        test_fd = frechet_distance(FeatureStats.from_features(real_features(test, m, phi[m], device)), reference)
        noise = torch.rand(len(test), *test.shapes[m], generator=g).to(device)
        noise_fd = frechet_distance(FeatureStats.from_features(extract(phi[m], noise)), reference)
        print(f"  {m}: real test {test_fd:8.3f}   noise {noise_fd:8.3f}   ratio {noise_fd / test_fd:6.1f}")

    print(f"\nScaling on {device} (N test tuples; generation excluded)")
    print(f"  {'N':>6} {'images':>8} {'coh only s':>10} {'pass s':>8} {'score s':>8} {'total s':>8} {'ms/img':>7}")
    for n in (int(s) for s in args.sizes.split(",")):
        data = test.subset(torch.arange(n) % len(test))
        real = {m: RealFeatures(real_features(data, m, phi[m], device)) for m in data.modalities}
        replay = Replay(data, device)
        sync(device)
        start = time.perf_counter()
        generation_pass(replay, data, [CoherenceCounter(data.modalities, clfs, device)], batch_size=256, device=device)
        sync(device)
        coherence_s = time.perf_counter() - start
        counter = CoherenceCounter(data.modalities, clfs, device)
        collector = FeatureCollector(data.modalities, phi)
        start = time.perf_counter()
        generation_pass(replay, data, [counter, collector], batch_size=256, device=device)
        sync(device)
        pass_s = time.perf_counter() - start
        collector.result("clf", real)
        sync(device)
        score_s = time.perf_counter() - start - pass_s
        images = n * 31 * 5 + n * 5  # every generated image is classified; features kept for 15 of 31 subsets
        total = pass_s + score_s
        print(f"  {n:6d} {images:8d} {coherence_s:10.2f} {pass_s:8.2f} {score_s:8.2f} {total:8.2f} {1000 * total / images:7.3f}")

    if args.inception_images > 0:
        print(f"\nInception-v3 pool3 throughput on {device} (random weights, pytorch-fid layout)")
        net = InceptionFeatures(_random_weights_file(), device=device)
        images = torch.rand(args.inception_images, 3, 28, 28, device=device)
        net.features(images[:2])
        sync(device)
        start = time.perf_counter()
        for i in range(0, len(images), 32):
            net.features(images[i : i + 32])
        sync(device)
        rate = len(images) / (time.perf_counter() - start)
        per_model = 500 * 15 * 5 + 500 * 5  # conditional (S, t not in S) + unconditional at N = 500
        print(f"  {rate:.1f} images/s: FID of one model at N = 500 ({per_model} images) would take "
              f"{per_model / rate / 60:.1f} min")


def _random_weights_file():
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "inception.pth"
    torch.save(fid_inception_net().state_dict(), path)
    return path


if __name__ == "__main__":
    main()
