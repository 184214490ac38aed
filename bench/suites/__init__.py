"""Benchmark suites, one folder each: ``bench/suites/<name>/`` holds everything a dataset brings, and nothing outside
it names the dataset.

- ``__init__.py``: the suite class (a ``bench.suites.base.Suite``), registered in ``bench.registry.SUITES``: its name
  and title, scales, ``load_data`` and the summary table's layout (``summary_columns``);
- ``data.py`` (and helpers): the builders, the loaders of the real files and the offline stand-in;
- ``nets.py``: the networks of every model family for its modality kinds (``bench.networks``): the VAEs' encoders
  and decoders, MLD's autoencoders, the coherence classifiers;
- ``presets.py``: each model's config on this data at every scale (``bench.presets``).

Importing this package imports every suite folder in it, which registers the suite and its presets; a suite outside
the repository is a folder or file loaded with ``--include`` that does the same (docs/extending/suite.md).
"""

import importlib
import pkgutil

for _folder in sorted(info.name for info in pkgutil.iter_modules(__path__) if info.ispkg):
    importlib.import_module(f"{__name__}.{_folder}")
