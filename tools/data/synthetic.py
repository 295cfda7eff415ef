"""Synthetic dataset with planted interest drift: the only data with ground truth for trend detection.

Writes the generic CSV format (``interactions.csv``, ``items.csv``; see ``csv_format``) plus
``drifts.json``: who shifts from which category to which, and when. Everything is drawn from
one ``numpy`` generator seeded by ``seed``, so the same arguments give byte-identical files.

Planted user patterns (shares are of the user's events, before secondary-category noise):

* ``sudden_switch`` — {A: .7, bg: .3} before ``change_ts``, {B: .7, bg: .3} after.
* ``slow_drift``    — A falls linearly .7 → 0 between ``change_ts`` and ``end_ts`` while B rises 0 → .7.
* ``emerging``      — {C: .5, D: .5}, then from ``change_ts`` {C: .25, D: .25, B: .5}.
* ``fading``        — {A: .5, C: .25, D: .25}, then A disappears at ``change_ts``: {C: .5, D: .5}.
* ``stable``        — a fixed mix of three categories.

The planted moves are unambiguous, because this is the ground truth detection is scored on:

* a category planted absent is really absent — B before the change (switch, drift, emerging) and A
  after it (switch, fading; drift: after ``end_ts``) occur on no event, not even as an item's
  secondary category;
* categories are *dealt*, not drawn independently: each event adds the planted mix to a per-user
  credit and takes the category with the largest credit plus a uniform jitter in [0, ``deal_jitter``)
  (then pays 1), so the realised counts of any stretch of events stay within a few events of the
  plant — a stable user shows no chance run that looks like drift (independent draws gave 2-8 % of
  stable users one), a drifting user shows the planted move — while the order stays random;
* drifting users have at least ``min_before`` events before and ``min_after`` after the change.

Items carry popularity trends (new releases, rising and falling older titles) listed in
``drifts.json`` under ``item_trends``.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

DriftKind = Literal["sudden_switch", "slow_drift", "emerging", "fading", "stable"]
Activity = Literal["regular", "heavy", "light"]
DRIFT_KINDS: tuple[DriftKind, ...] = ("sudden_switch", "slow_drift", "emerging", "fading", "stable")
GROUND_TRUTH_FILE = "drifts.json"
EVENTS_MIN, EVENTS_MAX = 45, 65  # per user (heavy users 1.5x)
MIN_BEFORE, MIN_AFTER = 18, 25  # events on either side of a planted change
DEAL_JITTER = 3.0  # see "dealt" in the module docstring; None = independent draws
DAY = 86_400

# Genre-like categories, each with its own vocabulary so titles/descriptions embed near their genre.
VOCAB: dict[str, dict[str, list[str]]] = {
    "Sci-Fi": {
        "adj": ["Quantum", "Stellar", "Orbital", "Cosmic", "Synthetic", "Galactic", "Ion", "Binary"],
        "noun": ["Starship", "Nebula", "Android", "Orbit", "Colony", "Wormhole", "Cyborg", "Galaxy", "Reactor"],
        "about": ["a starship crew stranded beyond the galaxy", "an android who learns to dream",
                  "colonists terraforming a frozen planet", "a pilot racing through a wormhole",
                  "scientists decoding a signal from deep space"],
    },
    "Drama": {
        "adj": ["Quiet", "Broken", "Silent", "Bitter", "Tender", "Long", "Last", "Honest"],
        "noun": ["Winter", "Promise", "Family", "Harvest", "Letters", "River", "Inheritance", "Homecoming"],
        "about": ["a family torn apart by an old secret", "a widow rebuilding her life in a small town",
                  "two brothers reconciling after years of silence", "a teacher fighting for her students",
                  "a farmer facing the loss of his land"],
    },
    "Comedy": {
        "adj": ["Crazy", "Silly", "Awkward", "Wacky", "Lucky", "Clumsy", "Goofy", "Cheeky"],
        "noun": ["Wedding", "Roommates", "Vacation", "Neighbors", "Office", "Road Trip", "Pranksters", "Party"],
        "about": ["hapless roommates throwing the party of the year", "a clumsy groom who loses the rings",
                  "office workers pulling an elaborate prank", "a family vacation where everything goes wrong",
                  "a stand-up comic who fakes being a chef"],
    },
    "Thriller": {
        "adj": ["Deadly", "Hidden", "Dark", "Silent", "Final", "Cold", "Rogue", "Lethal"],
        "noun": ["Conspiracy", "Hostage", "Pursuit", "Agent", "Target", "Cipher", "Protocol", "Escape"],
        "about": ["a rogue agent hunted across Europe", "a hostage negotiator racing against the clock",
                  "a journalist who uncovers a deadly conspiracy", "a hacker framed for a bank heist",
                  "a witness on the run from an assassin"],
    },
    "Romance": {
        "adj": ["Sweet", "Endless", "Secret", "Summer", "First", "Starlit", "Gentle", "Paris"],
        "noun": ["Kiss", "Love", "Heart", "Valentine", "Affair", "Sweetheart", "Embrace", "Serenade"],
        "about": ["two strangers falling in love in Paris", "childhood sweethearts reunited one summer",
                  "a baker and a violinist who keep missing each other", "a secret love letter found decades later",
                  "a wedding planner who falls for the groom's brother"],
    },
    "Documentary": {
        "adj": ["True", "Untold", "Wild", "Real", "Inside", "Hidden", "Vanishing", "Frozen"],
        "noun": ["Oceans", "Coral Reef", "Rainforest", "Factory", "Glaciers", "Migration", "Archive", "Expedition"],
        "about": ["the migration of whales across the Pacific", "the workers inside a vanishing steel factory",
                  "scientists measuring melting glaciers", "the history of jazz told by its musicians",
                  "a year in the life of a rainforest"],
    },
    "Animation": {
        "adj": ["Little", "Magic", "Brave", "Tiny", "Funny", "Colorful", "Curious", "Happy"],
        "noun": ["Bunny", "Dragon Pup", "Toy Box", "Penguin", "Robot Friend", "Kitten", "Balloon", "Fox Cub"],
        "about": ["a brave little penguin searching for home", "toys that come alive when children sleep",
                  "a curious fox cub exploring the forest", "a tiny dragon who cannot breathe fire",
                  "a talking balloon on a trip around the world"],
    },
    "Horror": {
        "adj": ["Haunted", "Cursed", "Bloody", "Possessed", "Undead", "Wicked", "Grim", "Hollow"],
        "noun": ["Asylum", "Crypt", "Ghost", "Demon", "Zombie", "Nightmare", "Cellar", "Witch"],
        "about": ["teenagers trapped in a haunted asylum", "a village cursed by a vengeful witch",
                  "a family possessed by a demon in their cellar", "survivors of a zombie outbreak",
                  "a ghost that haunts a lighthouse keeper"],
    },
    "Fantasy": {
        "adj": ["Enchanted", "Ancient", "Elven", "Mythic", "Golden", "Shadow", "Crystal", "Dragon"],
        "noun": ["Kingdom", "Sword", "Sorcerer", "Quest", "Throne", "Prophecy", "Realm", "Amulet"],
        "about": ["a young sorcerer on a quest for a lost sword", "elves defending an enchanted kingdom",
                  "a knight who must fulfil an ancient prophecy", "a thief stealing a dragon's golden amulet",
                  "rival queens fighting for a crystal throne"],
    },
    "Mystery": {
        "adj": ["Missing", "Strange", "Locked", "Unsolved", "Curious", "Vanished", "Foggy", "Secret"],
        "noun": ["Detective", "Clue", "Manor", "Disappearance", "Riddle", "Inspector", "Alibi", "Murder"],
        "about": ["a detective solving a murder in a locked manor", "an inspector chasing a missing heiress",
                  "a riddle hidden in an old painting", "a small-town disappearance nobody can explain",
                  "a retired sleuth with one last unsolved case"],
    },
    "Western": {
        "adj": ["Dusty", "Lone", "Outlaw", "Wild", "Desert", "Frontier", "Iron", "Red"],
        "noun": ["Ranger", "Gunslinger", "Sheriff", "Canyon", "Saloon", "Stagecoach", "Rancher", "Bounty"],
        "about": ["a lone gunslinger defending a frontier town", "a sheriff tracking outlaws across the desert",
                  "ranchers driving cattle through a red canyon", "a bounty hunter chasing a stagecoach robber",
                  "a saloon owner standing up to a railroad baron"],
    },
    "Musical": {
        "adj": ["Singing", "Dancing", "Broadway", "Jazz", "Rhythm", "Golden", "Swinging", "Melody"],
        "noun": ["Chorus", "Ballroom", "Stage", "Symphony", "Cabaret", "Tap Shoes", "Opera", "Band"],
        "about": ["a chorus girl dreaming of Broadway", "a jazz band touring through the South",
                  "dancers competing for a ballroom crown", "a choir that saves its village with song",
                  "an opera singer who loses her voice"],
    },
}
CATEGORIES: list[str] = list(VOCAB)
_TITLE_PATTERNS = ["{adj} {noun}", "The {adj} {noun}", "The {noun} of {noun2}", "{noun} and {noun2}",
                   "{adj} {noun} {roman}", "Return of the {noun}"]
_ROMAN = ["II", "III", "IV", "V"]


class PlantedDrift(BaseModel):
    """Ground truth for one user (every user has one record; ``stable`` users have no change)."""

    user_id: str
    kind: DriftKind
    from_category: str | None = Field(None, description="The category whose share falls (switch, drift, fading).")
    to_category: str | None = Field(None, description="The category whose share rises (switch, drift, emerging).")
    change_ts: int | None = Field(None, description="Unix seconds when the change starts; None for stable.")
    end_ts: int | None = Field(None, description="When the change is complete (slow_drift); = change_ts otherwise.")
    background: list[str] = Field(default_factory=list, description="Categories whose share is not planted to move.")
    mix_before: dict[str, float] = Field(default_factory=dict)
    mix_after: dict[str, float] = Field(default_factory=dict)
    activity: Activity = "regular"
    n_events: int = 0
    n_before: int = 0
    n_after: int = 0

    @property
    def change_date(self) -> str | None:
        return None if self.change_ts is None else datetime.fromtimestamp(self.change_ts, UTC).date().isoformat()


class ItemTrends(BaseModel):
    rising: list[str] = Field(default_factory=list, description="Older items whose popularity grows over time.")
    falling: list[str] = Field(default_factory=list)
    new_releases: list[str] = Field(default_factory=list, description="Items released inside the timeline.")


class SyntheticTruth(BaseModel):
    version: int = 2
    seed: int
    params: dict[str, int | float | str]
    start_ts: int
    end_ts: int
    categories: list[str]
    drifts: list[PlantedDrift]
    item_trends: ItemTrends


class _Item:
    __slots__ = ("base", "cats", "primary", "release", "slope")

    def __init__(self, primary: int, cats: list[int], base: float, release: float, slope: float) -> None:
        self.primary, self.cats, self.base, self.release, self.slope = primary, cats, base, release, slope


def _titles(rng: np.random.Generator, cat: str, n: int, used: set[str]) -> list[str]:
    words = VOCAB[cat]
    out: list[str] = []
    for _ in range(n):
        title = ""
        for _attempt in range(30):
            pat = _TITLE_PATTERNS[int(rng.integers(len(_TITLE_PATTERNS)))]
            noun, noun2 = rng.choice(words["noun"], size=2, replace=False)
            title = pat.format(adj=rng.choice(words["adj"]), noun=noun, noun2=noun2,
                               roman=_ROMAN[int(rng.integers(len(_ROMAN)))])
            if title not in used:
                break
        k = 2
        base = title
        while title in used:
            title = f"{base} {k}"
            k += 1
        used.add(title)
        out.append(title)
    return out


def _session_times(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """``n`` increasing event times in [lo, hi]: sessions of 1-4 events, 20-120 minutes apart."""
    n_sessions = max(1, math.ceil(n / 2.5))
    starts = np.sort(rng.uniform(lo, hi - 6 * 3600, size=n_sessions))
    owner = np.sort(rng.integers(0, n_sessions, size=n))
    times = np.empty(n, dtype=np.float64)
    last_session, offset = -1, 0.0
    for i, s in enumerate(owner):
        offset = 0.0 if s != last_session else offset + rng.uniform(20, 120) * 60
        last_session = int(s)
        times[i] = starts[s] + offset
    return np.maximum.accumulate(np.floor(times))


def _strictly_increasing(t: np.ndarray) -> np.ndarray:
    """Distinct seconds: ties would make the planted order ambiguous."""
    out = t.astype(np.int64).copy()
    for i in range(1, len(out)):
        if out[i] <= out[i - 1]:
            out[i] = out[i - 1] + 1
    return out


def _mix_at(d: PlantedDrift, t: int, bg: dict[str, float]) -> dict[str, float]:
    """The planted category mix of user ``d`` at time ``t`` (shares sum to 1)."""
    if d.kind == "stable" or d.change_ts is None:
        return dict(d.mix_before)
    if d.kind == "slow_drift":
        assert d.end_ts is not None and d.from_category and d.to_category
        f = min(1.0, max(0.0, (t - d.change_ts) / max(1, d.end_ts - d.change_ts)))
        mix = dict(bg)
        mix[d.from_category] = 0.7 * (1 - f)
        mix[d.to_category] = 0.7 * f
        return mix
    return dict(d.mix_after if t >= d.change_ts else d.mix_before)


def _absent_at(d: PlantedDrift, t: int) -> set[str]:
    """Categories planted absent at time ``t``: no event may carry them (not even as a secondary category)."""
    if d.kind == "stable" or d.change_ts is None:
        return set()
    if t < d.change_ts:
        return {d.to_category} if d.to_category else set()
    done = d.end_ts if d.kind == "slow_drift" and d.end_ts is not None else d.change_ts
    return {d.from_category} if d.from_category and t >= done else set()


def _deal(mix: dict[str, float], credit: dict[str, float], rng: np.random.Generator, jitter: float | None) -> str:
    """Next category of a dealt sequence: the realised counts track the cumulative planted mix within ~``jitter``
    events. ``jitter=None``: an independent draw from the mix instead."""
    names = [m for m, w in mix.items() if w > 0]
    if jitter is None:
        w = np.array([mix[m] for m in names])
        return names[int(rng.choice(len(names), p=w / w.sum()))]
    for m in names:
        credit[m] = credit.get(m, 0.0) + mix[m]
    noise = rng.uniform(0.0, jitter, size=len(names))
    cat = names[int(np.argmax([credit[m] + z for m, z in zip(names, noise, strict=True)]))]
    credit[cat] -= 1.0
    return cat


def generate_synthetic(
    out_dir: Path,
    seed: int = 7,
    n_users: int = 400,
    n_items: int = 800,
    start: str = "2024-01-01",
    user_days: int = 365,
    timeline_days: int = 730,
    events_min: int = EVENTS_MIN,
    events_max: int = EVENTS_MAX,
    min_before: int = MIN_BEFORE,
    min_after: int = MIN_AFTER,
    heavy_share: float = 0.05,
    light_share: float = 0.15,
    secondary_share: float = 0.1,
    kind_shares: dict[str, float] | None = None,
    deal_jitter: float | None = DEAL_JITTER,
) -> Path:
    """Generate the dataset into ``out_dir`` (created) and return it.

    Regular users are active over ~``user_days`` inside a ``timeline_days`` timeline starting at
    ``start``; heavy users pack 1.5x the events into 30-60 days; light users spread theirs over the
    whole timeline. Every user has between ``events_min`` and ``events_max`` events (heavy: more).
    ``deal_jitter``: randomness of the category dealing (larger → looser; ``None`` → independent draws).
    """
    if n_users < 1 or n_items < 2 * len(CATEGORIES):
        raise ValueError(f"need n_users >= 1 and n_items >= {2 * len(CATEGORIES)}")
    if events_min < min_before + min_after:
        raise ValueError(f"events_min must be >= min_before + min_after ({min_before + min_after})")
    rng = np.random.default_rng(seed)
    t0 = int(datetime.fromisoformat(start).replace(tzinfo=UTC).timestamp())
    t_end = t0 + timeline_days * DAY
    shares = kind_shares or {"sudden_switch": 0.25, "slow_drift": 0.2, "emerging": 0.15, "fading": 0.15,
                             "stable": 0.25}
    n_cat = len(CATEGORIES)
    start_year = datetime.fromtimestamp(t0, UTC).year

    # ---- catalog: every category gets items; some items released inside the timeline; trends
    primaries = np.concatenate([np.arange(n_cat), rng.integers(0, n_cat, size=n_items - n_cat)])
    primaries = np.sort(primaries, kind="stable")
    items: list[_Item] = []
    rows: list[dict[str, str]] = []
    trends = ItemTrends()
    used_titles: set[str] = set()
    titles_by_cat = {c: iter(_titles(rng, CATEGORIES[c], int((primaries == c).sum()), used_titles))
                     for c in range(n_cat)}
    for idx, p in enumerate(primaries):
        iid = f"i{idx + 1:04d}"
        cats = [int(p)]
        if rng.random() < secondary_share:
            cats.append(int(rng.choice([c for c in range(n_cat) if c != p])))
        base = float(rng.pareto(1.2) + 1.0)
        roll = rng.random()
        release, slope = float(t0 - DAY), 0.0
        if roll < 0.15:  # new release inside the timeline (first 85%), popular from day one and rising
            release = float(rng.uniform(t0 + 30 * DAY, t0 + 0.85 * timeline_days * DAY))
            slope = float(rng.uniform(0.5, 1.5))
            trends.new_releases.append(iid)
        elif roll < 0.25:
            slope = float(rng.uniform(1.5, 2.5))
            trends.rising.append(iid)
        elif roll < 0.35:
            slope = float(-rng.uniform(1.5, 2.5))
            trends.falling.append(iid)
        year = datetime.fromtimestamp(release, UTC).year if release >= t0 else int(rng.integers(1950, start_year))
        items.append(_Item(int(p), cats, base, release, slope))
        cat = CATEGORIES[int(p)]
        words = VOCAB[cat]
        about = words["about"][int(rng.integers(len(words["about"])))]
        mood = words["adj"][int(rng.integers(len(words["adj"])))].lower()
        rows.append({
            "item_id": iid,
            "title": next(titles_by_cat[int(p)]),
            "categories": "|".join(CATEGORIES[c] for c in cats),
            "description": f"{'An' if mood[0] in 'aeiou' else 'A'} {mood} {cat.lower()} film about {about}.",
            "image_path": "",
            "year": str(year),
        })
    by_cat: list[np.ndarray] = [np.array([i for i, it in enumerate(items) if c in it.cats]) for c in range(n_cat)]
    bases = np.array([it.base for it in items])
    releases = np.array([it.release for it in items])
    slopes = np.array([it.slope for it in items])

    member = np.zeros((n_items, n_cat), dtype=bool)
    for i, it in enumerate(items):
        member[i, it.cats] = True

    def pick(cat: int, t: float, seen: np.ndarray, absent: list[int]) -> int:
        cand = by_cat[cat]
        if absent:  # items also carrying a category planted absent now are out
            keep = cand[~member[cand][:, absent].any(axis=1)]
            cand = keep if len(keep) else cand
        w = bases[cand] * np.exp(slopes[cand] * (t - t0) / (t_end - t0)) * (releases[cand] <= t)
        fresh = ~seen[cand]
        if (w * fresh).sum() > 0:
            w = w * fresh
        elif w.sum() <= 0:
            w = bases[cand].copy()
        return int(cand[rng.choice(len(cand), p=w / w.sum())])

    # ---- users
    kinds = list(shares)
    probs = np.array([shares[k] for k in kinds], dtype=float)
    probs /= probs.sum()
    events: list[tuple[int, str, str, float]] = []
    drifts: list[PlantedDrift] = []
    user_bias = rng.normal(0, 0.4, size=n_users)
    item_quality = rng.normal(3.6, 0.5, size=n_items)
    for u in range(n_users):
        uid = f"u{u + 1:04d}"
        kind: DriftKind = kinds[int(rng.choice(len(kinds), p=probs))]  # type: ignore[assignment]
        a_roll = rng.random()
        activity: Activity = "heavy" if a_roll < heavy_share else "light" if a_roll < heavy_share + light_share \
            else "regular"
        n = int(rng.integers(events_min, events_max + 1))
        if activity == "heavy":
            n = int(n * 1.5)
            length = float(rng.uniform(30, 60)) * DAY
            lo = float(rng.uniform(t0, t_end - length))
        elif activity == "light":
            lo, length = float(t0), float(timeline_days * DAY)
        else:
            length = float(user_days * DAY * rng.uniform(0.8, 1.0))
            lo = float(rng.uniform(t0, t_end - length))
        times = _strictly_increasing(_session_times(rng, n, lo, lo + length))
        perm = [int(c) for c in rng.permutation(n_cat)]
        a, b, c, d_, e = (CATEGORIES[i] for i in perm[:5])
        drift = PlantedDrift(user_id=uid, kind=kind, activity=activity, n_events=n)
        if kind == "stable":
            drift.mix_before = drift.mix_after = {a: 0.5, b: 0.3, c: 0.2}
            drift.background = [a, b, c]
        else:
            k_lo, k_hi = max(min_before, int(0.35 * n)), min(n - min_after, int(0.55 * n))
            k = int(rng.integers(min(k_lo, k_hi), max(k_lo, k_hi) + 1))  # first event after the change
            change = int((times[k - 1] + times[k]) // 2) + 1
            drift.change_ts, drift.end_ts = change, change
            drift.n_before, drift.n_after = k, n - k
            if kind == "sudden_switch":
                drift.from_category, drift.to_category, drift.background = a, b, [c]
                drift.mix_before, drift.mix_after = {a: 0.7, c: 0.3}, {b: 0.7, c: 0.3}
            elif kind == "slow_drift":
                # the drift runs from the change to ~90% of the user's events
                j = max(k + 1, int(0.9 * n) - 1)
                drift.end_ts = int(times[min(j, n - 1)])
                drift.from_category, drift.to_category, drift.background = a, b, [c]
                drift.mix_before, drift.mix_after = {a: 0.7, c: 0.3}, {b: 0.7, c: 0.3}
            elif kind == "emerging":
                drift.to_category, drift.background = a, [c, d_]
                drift.mix_before, drift.mix_after = {c: 0.5, d_: 0.5}, {c: 0.25, d_: 0.25, a: 0.5}
            else:  # fading
                drift.from_category, drift.background = a, [c, d_]
                drift.mix_before, drift.mix_after = {a: 0.5, c: 0.25, d_: 0.25}, {c: 0.5, d_: 0.5}
        del e
        bg = {cat: drift.mix_before[cat] for cat in drift.background}
        seen = np.zeros(n_items, dtype=bool)
        credit: dict[str, float] = {}
        for t in times:
            cat = _deal(_mix_at(drift, int(t), bg), credit, rng, deal_jitter)
            absent = [CATEGORIES.index(x) for x in _absent_at(drift, int(t))]
            item = pick(CATEGORIES.index(cat), float(t), seen, absent)
            seen[item] = True
            rating = float(np.clip(np.rint(item_quality[item] + user_bias[u] + rng.normal(0, 0.7)), 1, 5))
            events.append((int(t), uid, f"i{item + 1:04d}", rating))
        drifts.append(drift)

    events.sort(key=lambda e: (e[0], e[1]))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "interactions.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["user_id", "item_id", "timestamp", "rating"])
        for ts, uid, iid, rating in events:
            w.writerow([uid, iid, ts, int(rating)])
    with (out_dir / "items.csv").open("w", newline="", encoding="utf-8") as f:
        dw = csv.DictWriter(f, fieldnames=["item_id", "title", "categories", "description", "image_path", "year"],
                            lineterminator="\n")
        dw.writeheader()
        dw.writerows(rows)
    truth = SyntheticTruth(
        seed=seed,
        params={"n_users": n_users, "n_items": n_items, "start": start, "user_days": user_days,
                "timeline_days": timeline_days, "events_min": events_min, "events_max": events_max,
                "min_before": min_before, "min_after": min_after,
                "deal_jitter": "independent" if deal_jitter is None else deal_jitter},
        start_ts=t0, end_ts=t_end, categories=CATEGORIES, drifts=drifts, item_trends=trends,
    )
    (out_dir / GROUND_TRUTH_FILE).write_text(truth.model_dump_json(indent=1), encoding="utf-8")
    return out_dir


def load_truth(directory: Path) -> SyntheticTruth:
    """Everything planted: drifts, item trends, the generation parameters."""
    path = Path(directory) / GROUND_TRUTH_FILE
    return SyntheticTruth.model_validate(json.loads(path.read_text(encoding="utf-8")))


def load_ground_truth(directory: Path) -> list[PlantedDrift]:
    """The planted drift of every user (``stable`` users included), in user order."""
    return load_truth(directory).drifts
