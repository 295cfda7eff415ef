"""Candidate sources: each proposes items for a user; the pool remembers who proposed what."""

from __future__ import annotations

from evorec.tools.candidates.base import CandidatePool, CandidateSource, gather
from evorec.tools.candidates.cooc import CoocSource
from evorec.tools.candidates.forecaster import ForecasterSource
from evorec.tools.candidates.popular import PopularSource
from evorec.tools.candidates.semantic import SemanticSource
from evorec.tools.candidates.trending import TrendingSource

SOURCE_CLASSES: dict[str, type[CandidateSource]] = {
    c.name: c for c in (ForecasterSource, CoocSource, TrendingSource, SemanticSource, PopularSource)
}
SOURCE_NAMES = list(SOURCE_CLASSES)
DEFAULT_SIZES = {"forecaster": 100, "cooc": 50, "trending": 30, "semantic": 30, "popular": 20}


def default_sources(sizes: dict[str, int] | None = None, exclude: list[str] | None = None) -> list[CandidateSource]:
    """One instance of every source (minus ``exclude``), with per-source pool sizes."""
    sizes = {**DEFAULT_SIZES, **(sizes or {})}
    return [cls(n=sizes[name]) for name, cls in SOURCE_CLASSES.items() if name not in (exclude or [])]


COLD_SIZES = {"popular": 100, "trending": 50}


def cold_start_sources() -> list[CandidateSource]:
    """Sources for users without history: popularity and catalog trends only."""
    return [PopularSource(n=COLD_SIZES["popular"]), TrendingSource(n=COLD_SIZES["trending"])]


__all__ = ["COLD_SIZES", "SOURCE_CLASSES", "SOURCE_NAMES", "CandidatePool", "CandidateSource", "CoocSource",
           "ForecasterSource", "PopularSource", "SemanticSource", "TrendingSource", "cold_start_sources",
           "default_sources", "gather"]
