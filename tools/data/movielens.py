"""MovieLens-100K exactly as GroupLens ships it.

``u.data``: tab-separated ``user item rating timestamp``. ``u.item``: latin-1, ``|``-separated
``id|title|release date|video release date|IMDb URL|<19 genre flags>``; genre names come from
``u.genre`` when present. The ``unknown`` genre is not an interest, so it is not a category.
The files are read in place and never copied (licence: research use, no redistribution).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from evorec.errors import DataFormatError
from evorec.tools.data.csv_format import read_text
from evorec.tools.data.schema import Dataset

GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
          "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]
ITEM_FIELDS = 5 + len(GENRES)


def _genres(directory: Path) -> list[str]:
    path = directory / "u.genre"
    if not path.is_file():
        return list(GENRES)
    names: dict[int, str] = {}
    for line_no, line in enumerate(read_text(path, "latin-1").splitlines(), start=1):
        if not line.strip():
            continue
        name, _, idx = line.rpartition("|")
        if not name or not idx.strip().isdigit():
            raise DataFormatError(str(path), f"expected 'name|index', found {line!r}", line_no)
        names[int(idx)] = name
    if sorted(names) != list(range(len(GENRES))):
        raise DataFormatError(str(path), f"expected genre indices 0..{len(GENRES) - 1}")
    return [names[i] for i in range(len(GENRES))]


def _year(release: str, path: Path, line: int) -> int | None:
    release = release.strip()
    if not release:
        return None
    try:
        return datetime.strptime(release, "%d-%b-%Y").year
    except ValueError:
        raise DataFormatError(str(path), f"release date {release!r} is not like 01-Jan-1995", line) from None


def read_items(directory: Path) -> tuple[pd.DataFrame, list[str]]:
    genres = _genres(directory)
    path = directory / "u.item"
    ids: list[str] = []
    titles: list[str] = []
    cats: list[list[str]] = []
    years: list[int | None] = []
    for line_no, line in enumerate(read_text(path, "latin-1").splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != ITEM_FIELDS:
            raise DataFormatError(str(path), f"expected {ITEM_FIELDS} '|'-separated fields, found {len(fields)}",
                                  line_no)
        iid = fields[0].strip()
        if not iid.isdigit():
            raise DataFormatError(str(path), f"movie id {iid!r} is not an integer", line_no)
        flags = fields[5:]
        if any(f not in ("0", "1") for f in flags):
            raise DataFormatError(str(path), "genre flags must be 0 or 1", line_no)
        ids.append(iid)
        titles.append(fields[1].strip())
        cats.append([g for g, f in zip(genres, flags, strict=True) if f == "1" and g != "unknown"])
        years.append(_year(fields[2], path, line_no))
    if not ids:
        raise DataFormatError(str(path), "no movies in file")
    items = pd.DataFrame({"item_id": ids, "title": titles, "categories": cats, "description": [""] * len(ids),
                          "image_path": [""] * len(ids), "year": pd.array(years, dtype="Int64")})
    return items, [g for g in genres if g != "unknown"]


def read_interactions(directory: Path, known_items: set[str]) -> pd.DataFrame:
    path = directory / "u.data"
    text = read_text(path, "utf-8")
    lines = text.splitlines()
    users: list[str] = []
    items: list[str] = []
    ratings: list[float] = []
    ts: list[int] = []
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise DataFormatError(str(path), f"expected 4 tab-separated fields (user item rating timestamp), "
                                             f"found {len(fields)}", line_no)
        u, i, r, t = (f.strip() for f in fields)
        if not t.isdigit():
            raise DataFormatError(str(path), f"timestamp {t!r} is not a number (unix seconds expected)", line_no)
        try:
            rating = float(r)
        except ValueError:
            raise DataFormatError(str(path), f"rating {r!r} is not a number", line_no) from None
        if i not in known_items:
            raise DataFormatError(str(path), f"movie id {i!r} is not in u.item", line_no)
        users.append(u)
        items.append(i)
        ratings.append(rating)
        ts.append(int(t))
    if not users:
        raise DataFormatError(str(path), "no ratings in file")
    return pd.DataFrame({"user_id": users, "item_id": items, "ts": np.array(ts, dtype=np.int64),
                         "rating": np.array(ratings, dtype=np.float64), "row": np.arange(len(users), dtype=np.int64)})


def read_movielens_100k(directory: Path, name: str = "ml-100k") -> Dataset:
    directory = Path(directory)
    if not (directory / "u.data").is_file() or not (directory / "u.item").is_file():
        raise DataFormatError(str(directory), "MovieLens-100K not found here (need u.data and u.item); "
                                              "set EVOREC_ML100K_PATH or pass --path")
    items, genres = read_items(directory)
    inter = read_interactions(directory, set(items["item_id"]))
    return Dataset(name=name, interactions=inter, items=items, categories=genres, source=str(directory))
