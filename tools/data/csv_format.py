"""The generic dataset format: ``interactions.csv`` + optional ``items.csv`` in one directory.

``interactions.csv``: ``user_id,item_id,timestamp[,rating]`` — ids are strings, ``timestamp`` is
unix seconds (an integer; ``1.7e9``-style floats are accepted when integral), ``rating`` optional.
``items.csv``: ``item_id,title[,categories,description,image_path,year]`` — ``categories``
``|``-separated. Files are UTF-8 (a BOM is fine). Extra columns are ignored.
Without ``items.csv`` (public benchmarks often ship ids only) the catalog is the set of item ids in
``interactions.csv``, in order of first appearance; items are then known by their ids alone (no
titles, categories or descriptions), and ``Dataset.has_item_text`` is False so text and category
features are off.

Every problem raises :class:`DataFormatError` naming the file, the line and what is wrong.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from evorec.errors import DataFormatError
from evorec.tools.data.schema import Dataset

INTERACTIONS_FILE = "interactions.csv"
ITEMS_FILE = "items.csv"
INTERACTION_REQUIRED = ("user_id", "item_id", "timestamp")
ITEM_REQUIRED = ("item_id", "title")


def read_text(path: Path, encoding: str = "utf-8-sig") -> str:
    """Whole file as text; missing, empty or undecodable files fail with the offending line."""
    if not path.is_file():
        raise DataFormatError(str(path), "file not found")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataFormatError(str(path), "file is empty")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DataFormatError(
            str(path), f"cannot decode byte 0x{raw[e.start]:02x} as {encoding.replace('-sig', '')}", line
        ) from None


def iter_rows(path: Path, text: str, required: tuple[str, ...], delimiter: str = ",") -> Iterator[tuple[int, dict]]:
    """(line number, row dict) for each data row, after checking the header has ``required``."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as e:
        raise DataFormatError(str(path), f"malformed CSV: {e}", 1) from None
    header = [h.strip() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        raise DataFormatError(str(path), f"missing column(s) {', '.join(missing)} (header: {','.join(header)})", 1)
    n = len(header)
    try:
        for fields in reader:
            line = reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if len(fields) != n:
                raise DataFormatError(str(path), f"expected {n} fields, found {len(fields)}", line)
            yield line, dict(zip(header, fields, strict=True))
    except csv.Error as e:
        raise DataFormatError(str(path), f"malformed CSV: {e}", reader.line_num) from None


def parse_timestamp(value: str, path: Path, line: int) -> int:
    v = value.strip()
    try:
        f = float(v)
    except ValueError:
        raise DataFormatError(str(path), f"timestamp {v!r} is not a number (unix seconds expected)", line) from None
    if not math.isfinite(f) or f != int(f):
        raise DataFormatError(str(path), f"timestamp {v!r} is not a whole number of seconds", line)
    return int(f)


def parse_rating(value: str, path: Path, line: int) -> float:
    v = value.strip()
    if not v:
        return float("nan")
    try:
        f = float(v)
    except ValueError:
        raise DataFormatError(str(path), f"rating {v!r} is not a number", line) from None
    if not math.isfinite(f):
        raise DataFormatError(str(path), f"rating {v!r} is not finite", line)
    return f


def _read_items(path: Path) -> pd.DataFrame:
    text = read_text(path)
    ids: list[str] = []
    titles: list[str] = []
    cats: list[list[str]] = []
    descs: list[str] = []
    images: list[str] = []
    years: list[int | None] = []
    seen: dict[str, int] = {}
    for line, r in iter_rows(path, text, ITEM_REQUIRED):
        iid = r["item_id"].strip()
        if not iid:
            raise DataFormatError(str(path), "empty item_id", line)
        if iid in seen:
            raise DataFormatError(str(path), f"duplicate item_id {iid!r} (first on line {seen[iid]})", line)
        seen[iid] = line
        year_txt = (r.get("year") or "").strip()
        year: int | None = None
        if year_txt:
            try:
                year = int(float(year_txt))
            except ValueError:
                raise DataFormatError(str(path), f"year {year_txt!r} is not a number", line) from None
        ids.append(iid)
        titles.append(r["title"].strip())
        cats.append([c.strip() for c in (r.get("categories") or "").split("|") if c.strip()])
        descs.append((r.get("description") or "").strip())
        images.append((r.get("image_path") or "").strip())
        years.append(year)
    if not ids:
        raise DataFormatError(str(path), "no item rows after the header")
    return pd.DataFrame({"item_id": ids, "title": titles, "categories": cats, "description": descs,
                         "image_path": images, "year": pd.array(years, dtype="Int64")})


def _read_interactions(path: Path, known_items: set[str] | None, items_path: Path) -> pd.DataFrame:
    text = read_text(path)
    users: list[str] = []
    item_ids: list[str] = []
    ts: list[int] = []
    ratings: list[float] = []
    for line, r in iter_rows(path, text, INTERACTION_REQUIRED):
        uid, iid = r["user_id"].strip(), r["item_id"].strip()
        if not uid:
            raise DataFormatError(str(path), "empty user_id", line)
        if not iid:
            raise DataFormatError(str(path), "empty item_id", line)
        if known_items is not None and iid not in known_items:
            raise DataFormatError(str(path), f"item_id {iid!r} is not in {items_path.name}", line)
        users.append(uid)
        item_ids.append(iid)
        ts.append(parse_timestamp(r["timestamp"], path, line))
        ratings.append(parse_rating(r["rating"], path, line) if "rating" in r else float("nan"))
    if not users:
        raise DataFormatError(str(path), "no interaction rows after the header")
    return pd.DataFrame({"user_id": users, "item_id": item_ids, "ts": np.array(ts, dtype=np.int64),
                         "rating": np.array(ratings, dtype=np.float64), "row": np.arange(len(users), dtype=np.int64)})


def ids_only_items(item_ids: pd.Series) -> pd.DataFrame:
    """A catalog that knows items by their ids alone (first-appearance order; the id is the title)."""
    ids = list(dict.fromkeys(item_ids.astype(str)))
    n = len(ids)
    return pd.DataFrame({"item_id": ids, "title": ids, "categories": [[] for _ in range(n)], "description": [""] * n,
                         "image_path": [""] * n, "year": pd.array([None] * n, dtype="Int64")})


def read_csv_dataset(directory: Path, name: str = "csv", categories: list[str] | None = None) -> Dataset:
    """Read ``directory/{interactions,items}.csv`` into a :class:`Dataset`.

    ``categories`` fixes the category order (default: order of first appearance in items.csv).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DataFormatError(str(directory), "dataset directory not found")
    items_path, inter_path = directory / ITEMS_FILE, directory / INTERACTIONS_FILE
    if not items_path.exists():
        inter = _read_interactions(inter_path, None, items_path)
        if categories:
            raise DataFormatError(str(items_path), "file not found (categories need an items file)")
        return Dataset(name=name, interactions=inter, items=ids_only_items(inter["item_id"]), categories=[],
                       source=str(directory))
    items = _read_items(items_path)
    inter = _read_interactions(inter_path, set(items["item_id"]), items_path)
    if categories is not None:
        listed = set(categories)
        for line, cats in enumerate(items["categories"], start=2):
            extra = [c for c in cats if c not in listed]
            if extra:
                raise DataFormatError(str(items_path), f"unknown category {extra[0]!r}", line)
    return Dataset(name=name, interactions=inter, items=items, categories=list(categories or []),
                   source=str(directory))
