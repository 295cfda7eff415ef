"""Dataset readers on real files: good files parse exactly, bad files fail naming file, line and problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evorec.errors import DataFormatError, InvalidRequestError
from evorec.tools.data.loader import load_dataset
from evorec.tools.data.movielens import read_movielens_100k

ITEMS = "item_id,title,categories,description,image_path,year\n" \
        "a,Alpha,Drama|Comedy,first,,1999\n" \
        "b,Beta,Sci-Fi,,img/b.png,\n" \
        "c,\"Gamma, the third\",,a quoted title,,2001\n"
INTERACTIONS = "user_id,item_id,timestamp,rating\n" \
               "1,b,200,4\n" \
               "1,a,100,\n" \
               "2,c,100,5\n" \
               "1,c,200,3\n"


def write(directory: Path, items: str | bytes = ITEMS, interactions: str | bytes = INTERACTIONS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in (("items.csv", items), ("interactions.csv", interactions)):
        path = directory / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return directory


def fails(directory: Path, file: str, line: int | None, problem: str) -> DataFormatError:
    with pytest.raises(DataFormatError) as info:
        load_dataset("csv", path=directory)
    err = info.value
    assert Path(err.path).name == file, str(err)
    assert err.line == line, str(err)
    assert problem in err.problem, str(err)
    assert str(err).startswith(f"{err.path}:{line}" if line else err.path)
    return err


def test_generic_csv_parses_exactly(tmp_path: Path) -> None:
    ds = load_dataset("csv", path=write(tmp_path / "d"))
    ints = ds.interactions
    # sorted by (timestamp, original row): the same-second tie keeps file order (b before c)
    assert ints[["user_id", "item_id", "ts"]].values.tolist() == [["1", "a", 100], ["2", "c", 100], ["1", "b", 200],
                                                                   ["1", "c", 200]]
    assert ints["row"].tolist() == [1, 2, 0, 3]
    assert np.isnan(ints["rating"].iloc[0]) and ints["rating"].iloc[1] == 5.0
    items = ds.items.set_index("item_id")
    assert items.loc["a", "categories"] == ["Drama", "Comedy"] and items.loc["c", "categories"] == []
    assert items.loc["c", "title"] == "Gamma, the third"
    assert items.loc["b", "image_path"] == "img/b.png" and items.loc["b", "year"] is not None
    assert int(items.loc["a", "year"]) == 1999 and str(items.loc["b", "year"]) == "<NA>"
    assert ds.categories == ["Drama", "Comedy", "Sci-Fi"]
    assert [e for e in ds.user_events("1")["item_id"]] == ["a", "b", "c"]


def test_minimal_columns_and_bom(tmp_path: Path) -> None:
    d = write(tmp_path / "d", items="\ufeffitem_id,title\nx,X\n", interactions="user_id,item_id,timestamp\nu,x,5\n")
    ds = load_dataset("csv", path=d)
    assert ds.n_items == 1 and np.isnan(ds.interactions["rating"].iloc[0])
    assert ds.items["categories"].iloc[0] == [] and ds.items["description"].iloc[0] == ""


_HEAD = "user_id,item_id,timestamp\n"
BAD_CSV = [  # (items.csv, interactions.csv, failing file, line, problem): one case per bad-file kind
    pytest.param(ITEMS, "user_id,item,timestamp\n1,a,5\n", "interactions.csv", 1, "missing column(s) item_id",
                 id="missing-interactions-column"),
    pytest.param("item_id,name\na,A\n", INTERACTIONS, "items.csv", 1, "missing column(s) title",
                 id="missing-items-column"),
    pytest.param(ITEMS, _HEAD + "1,a,5\n1,b,yesterday\n", "interactions.csv", 3,
                 "timestamp 'yesterday' is not a number", id="non-numeric-timestamp"),
    pytest.param(ITEMS, "user_id,item_id,timestamp,rating\n1,a,5,great\n", "interactions.csv", 2,
                 "rating 'great' is not a number", id="non-numeric-rating"),
    pytest.param(ITEMS, (_HEAD + "1,a,5\n").encode() + "2,b,6,caf\u00e9\n".encode("latin-1"), "interactions.csv", 3,
                 "cannot decode byte 0xe9 as utf-8", id="undecodable-bytes"),
    pytest.param(ITEMS, "", "interactions.csv", None, "file is empty", id="empty-file"),
    pytest.param("item_id,title\n", INTERACTIONS, "items.csv", None, "no item rows", id="items-header-only"),
    pytest.param(ITEMS, _HEAD + "\n", "interactions.csv", None, "no interaction rows", id="interactions-header-only"),
    pytest.param(ITEMS, _HEAD + "1,a,5\n1,zz,6\n", "interactions.csv", 3, "item_id 'zz' is not in items.csv",
                 id="unknown-item"),
    pytest.param(ITEMS, _HEAD + "1,a\n", "interactions.csv", 2, "expected 3 fields, found 2", id="wrong-field-count"),
    pytest.param("item_id,title\na,A\na,B\n", INTERACTIONS, "items.csv", 3, "duplicate item_id 'a'",
                 id="duplicate-item"),
    pytest.param("item_id,title,year\na,A,soon\n", INTERACTIONS, "items.csv", 2, "year 'soon'", id="bad-year"),
]


@pytest.mark.parametrize(("items", "interactions", "file", "line", "problem"), BAD_CSV)
def test_bad_csv_fails_naming_file_line_and_problem(tmp_path: Path, items: str, interactions: str | bytes, file: str,
                                                    line: int | None, problem: str) -> None:
    fails(write(tmp_path / "d", items=items, interactions=interactions), file, line, problem)


def test_missing_files_and_names(tmp_path: Path) -> None:
    fails(tmp_path / "nowhere", "nowhere", None, "dataset directory not found")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "items.csv").write_text("item_id,title\na,A\n")
    fails(tmp_path / "half", "interactions.csv", None, "file not found")
    with pytest.raises(InvalidRequestError, match="--path"):
        load_dataset("csv")
    with pytest.raises(InvalidRequestError, match="unknown dataset"):
        load_dataset("netflix")


def test_ids_only_dataset_without_items_file(tmp_path: Path) -> None:
    d = tmp_path / "ids"
    d.mkdir()
    (d / "interactions.csv").write_text("user_id,item_id,timestamp\nu1,i9,100\nu1,i3,100\nu2,i3,50\nu1,i1,300\n")
    ds = load_dataset("csv", path=d)
    assert list(ds.items["item_id"]) == ["i9", "i3", "i1"]  # first appearance in the file
    assert list(ds.items["title"]) == ["i9", "i3", "i1"] and ds.categories == []
    assert not ds.has_item_text and ds.item_text()["i3"] == "i3"
    assert ds.user_events("u1")["item_id"].tolist() == ["i9", "i3", "i1"]  # same-second events keep the file order
    assert load_dataset("csv", path=write(tmp_path / "full")).has_item_text
    (d / "interactions.csv").write_text("user_id,item_id,timestamp\nu1,,100\n")
    fails(d, "interactions.csv", 2, "empty item_id")


def test_real_sports_ids_only() -> None:
    sports = Path("/work/shared/data/amazon-sports-5core")
    if not (sports / "interactions.csv").is_file():
        pytest.skip("amazon-sports-5core not present")
    ds = load_dataset("csv", path=sports)
    assert (ds.n_users, ds.n_items, len(ds.interactions)) == (35598, 18357, 296337)
    assert not ds.has_item_text


# ---------------------------------------------------------------- MovieLens-100K format

def _ml_item(i: int, title: str, date: str, genres: set[int]) -> str:
    flags = "|".join("1" if g in genres else "0" for g in range(19))
    return f"{i}|{title}|{date}||http://x|{flags}"


def write_ml(directory: Path, data: str | None = None, items: bytes | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    lines = [_ml_item(1, "Toy Story (1995)", "01-Jan-1995", {3, 4, 5}), _ml_item(2, "Café Noir (1946)", "", {10}),
             _ml_item(3, "unknown", "", {0})]
    (directory / "u.item").write_bytes(items if items is not None else ("\n".join(lines) + "\n").encode("latin-1"))
    (directory / "u.data").write_text(data if data is not None else "7\t2\t4\t881250949\n5\t1\t3\t881250949\n"
                                      "7\t1\t5\t881250000\n")
    return directory


def test_movielens_format_parses(tmp_path: Path) -> None:
    ds = read_movielens_100k(write_ml(tmp_path / "ml"))
    assert len(ds.categories) == 18 and "unknown" not in ds.categories and ds.categories[0] == "Action"
    items = ds.items.set_index("item_id")
    assert items.loc["1", "categories"] == ["Animation", "Children's", "Comedy"]
    assert items.loc["2", "title"] == "Café Noir (1946)"  # latin-1 decoded
    assert items.loc["2", "categories"] == ["Film-Noir"] and items.loc["3", "categories"] == []
    assert int(items.loc["1", "year"]) == 1995 and str(items.loc["2", "year"]) == "<NA>"
    # same-second tie (rows 0 and 1) keeps file order
    assert ds.interactions[["user_id", "item_id", "row"]].values.tolist() == [["7", "1", 2], ["7", "2", 0],
                                                                               ["5", "1", 1]]


@pytest.mark.parametrize(
    ("data", "line", "problem"),
    [("7\t2\t4\n", 1, "expected 4 tab-separated fields"),
     ("7\t2\t4\t881250949\n7\t2\t4\tlate\n", 2, "timestamp 'late' is not a number"),
     ("7\t9\t4\t881250949\n", 1, "movie id '9' is not in u.item"),
     ("7\t2\tx\t881250949\n", 1, "rating 'x'"),
     ("", None, "file is empty")],
)
def test_movielens_bad_ratings_file(tmp_path: Path, data: str, line: int | None, problem: str) -> None:
    with pytest.raises(DataFormatError) as info:
        read_movielens_100k(write_ml(tmp_path / "ml", data=data))
    assert info.value.path.endswith("u.data") and info.value.line == line and problem in info.value.problem


def test_movielens_bad_item_file(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError) as info:
        read_movielens_100k(write_ml(tmp_path / "ml", items=b"1|Toy Story|01-Jan-1995||url|0|1\n"))
    assert info.value.path.endswith("u.item") and info.value.line == 1 and "expected 24" in info.value.problem
    with pytest.raises(DataFormatError, match="not found here"):
        read_movielens_100k(tmp_path / "empty")


@pytest.mark.ml100k
def test_real_movielens_100k(ml100k_dir: Path, tmp_settings) -> None:
    ds = load_dataset("ml-100k", path=ml100k_dir, settings=tmp_settings)
    assert (len(ds.interactions), ds.n_items, ds.n_users) == (100_000, 1682, 943)
    assert len(ds.categories) == 18
    ts = ds.interactions["ts"].to_numpy()
    assert (np.diff(ts) >= 0).all()
    # ties broken by file row
    same = ds.interactions[ds.interactions.duplicated("ts", keep=False)]
    assert len(same) > 0
    for _, grp in same.groupby("ts"):
        assert grp["row"].is_monotonic_increasing
        break
    assert ds.items.set_index("item_id").loc["1", "title"] == "Toy Story (1995)"
