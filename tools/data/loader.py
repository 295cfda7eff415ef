"""One entry point for every dataset: ``load_dataset(name, path=None, settings=None)``.

Names: ``synthetic`` (``settings.data_dir/synthetic``, generated on first use with
``settings.synthetic_seed``), ``ml-100k`` (GroupLens files at ``path`` or ``settings.ml100k_path``),
``csv`` (the generic format; ``path`` required). Parsed datasets are cached per process, keyed on
the files' size and mtime; callers get their own copy.
"""

from __future__ import annotations

import copy
from pathlib import Path

from evorec.errors import DataFormatError, InvalidRequestError
from evorec.settings import Settings, get_settings
from evorec.tools.data.csv_format import INTERACTIONS_FILE, ITEMS_FILE, read_csv_dataset
from evorec.tools.data.movielens import read_movielens_100k
from evorec.tools.data.schema import Dataset
from evorec.tools.data.synthetic import GROUND_TRUTH_FILE, generate_synthetic, load_truth

DATASETS = ("synthetic", "ml-100k", "csv")
_cache: dict[tuple, Dataset] = {}


def synthetic_dir(settings: Settings) -> Path:
    return settings.data_dir / "synthetic"


def ensure_synthetic(settings: Settings, path: Path | None = None) -> Path:
    """The synthetic dataset directory, generated (seed ``settings.synthetic_seed``) if absent.

    An existing dataset is used as it is, whatever seed or sizes made it (``evorec data generate``).
    """
    directory = Path(path) if path is not None else synthetic_dir(settings)
    if all((directory / f).is_file() for f in (INTERACTIONS_FILE, ITEMS_FILE, GROUND_TRUTH_FILE)):
        return directory
    if directory.exists() and any(directory.iterdir()):
        raise DataFormatError(str(directory), f"not a complete synthetic dataset (needs {INTERACTIONS_FILE}, "
                                              f"{ITEMS_FILE}, {GROUND_TRUTH_FILE}); run: evorec data generate")
    generate_synthetic(directory, seed=settings.synthetic_seed)
    return directory


def _files_key(paths: list[Path]) -> tuple:
    out = []
    for p in paths:
        st = p.stat() if p.is_file() else None
        out.append((str(p), st.st_size if st else -1, st.st_mtime_ns if st else -1))
    return tuple(out)


def _copy(ds: Dataset) -> Dataset:
    return Dataset(name=ds.name, interactions=ds.interactions.copy(), items=copy.deepcopy(ds.items),
                   categories=list(ds.categories), source=ds.source)


def load_dataset(name: str, path: Path | None = None, settings: Settings | None = None) -> Dataset:
    """Load a dataset by name; bad files raise :class:`DataFormatError` naming file, line and problem."""
    settings = settings or get_settings()
    if name == "synthetic":
        directory = ensure_synthetic(settings, path)
        key = ("synthetic", *_files_key([directory / INTERACTIONS_FILE, directory / ITEMS_FILE,
                                         directory / GROUND_TRUTH_FILE]))
        if key not in _cache:
            cats = load_truth(directory).categories
            _cache[key] = read_csv_dataset(directory, name="synthetic", categories=cats)
    elif name == "ml-100k":
        directory = Path(path) if path is not None else settings.ml100k_path
        key = ("ml-100k", *_files_key([directory / "u.data", directory / "u.item", directory / "u.genre"]))
        if key not in _cache:
            _cache[key] = read_movielens_100k(directory)
    elif name == "csv":
        if path is None:
            raise InvalidRequestError("dataset 'csv' needs a directory: --path DIR (with interactions.csv, items.csv)")
        directory = Path(path)
        key = ("csv", *_files_key([directory / INTERACTIONS_FILE, directory / ITEMS_FILE]))
        if key not in _cache:
            _cache[key] = read_csv_dataset(directory, name="csv")
    else:
        raise InvalidRequestError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    return _copy(_cache[key])
