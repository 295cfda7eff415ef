"""Everything the agent can call, and the engines behind it. Never imports agent or serving.

This package's namespace is the tools' PUBLIC FACADE: serving (API, CLI) imports from ``evorec.tools`` only,
never from a submodule (``tests/test_serving_facades.py`` fails on one). It holds the :class:`Toolbox` and its
result types, the training pipeline, dataset loading, and the few store and model entry points the CLI's data
commands need. Names load on first use (PEP 562), so importing one does not import chroma or torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evorec.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from evorec.tools.constraints import Constraints
    from evorec.tools.data.loader import load_dataset, synthetic_dir
    from evorec.tools.data.schema import Dataset
    from evorec.tools.data.synthetic import generate_synthetic, load_ground_truth, load_truth
    from evorec.tools.evidence import Evidence
    from evorec.tools.forecast.plots import plot_mix
    from evorec.tools.forecast.result import InterestForecast
    from evorec.tools.forecast.service import ForecastService
    from evorec.tools.forecast.training_data import served_dataset
    from evorec.tools.models import available_models
    from evorec.tools.protocol import ToolboxProtocol
    from evorec.tools.recommendation import RankedList
    from evorec.tools.store.client import location as store_location
    from evorec.tools.store.history import HistoryStore, event_ids, ingested_datasets
    from evorec.tools.store.records import CategoryCounts, ItemHit, ItemSearch, UserHistory
    from evorec.tools.store.records import EventIn as StoreEvent
    from evorec.tools.toolbox import Toolbox
    from evorec.tools.training import PrepareOptions, PrepareReport, is_prepared, prepare, write_store_delta
    from evorec.tools.trends import TrendService, UserTrends
    from evorec.tools.trends.plots import plot_user_trends
    from evorec.tools.wording import CatalogWording, wording_for

# public name -> (module, attribute)
_EXPORTS: dict[str, tuple[str, str]] = {
    # the engines and what they return
    "Toolbox": ("evorec.tools.toolbox", "Toolbox"),
    "ToolboxProtocol": ("evorec.tools.protocol", "ToolboxProtocol"),
    "Evidence": ("evorec.tools.evidence", "Evidence"),
    "ItemHit": ("evorec.tools.store.records", "ItemHit"),
    "ItemSearch": ("evorec.tools.store.records", "ItemSearch"),
    "Constraints": ("evorec.tools.constraints", "Constraints"),
    "RankedList": ("evorec.tools.recommendation", "RankedList"),
    "UserHistory": ("evorec.tools.store.records", "UserHistory"),
    "CategoryCounts": ("evorec.tools.store.records", "CategoryCounts"),
    "StoreEvent": ("evorec.tools.store.records", "EventIn"),
    "UserTrends": ("evorec.tools.trends", "UserTrends"),
    "InterestForecast": ("evorec.tools.forecast.result", "InterestForecast"),
    # how the catalog is spoken of (films / products / items)
    "CatalogWording": ("evorec.tools.wording", "CatalogWording"),
    "wording_for": ("evorec.tools.wording", "wording_for"),
    # training
    "PrepareOptions": ("evorec.tools.training", "PrepareOptions"),
    "PrepareReport": ("evorec.tools.training", "PrepareReport"),
    "prepare": ("evorec.tools.training", "prepare"),
    "is_prepared": ("evorec.tools.training", "is_prepared"),
    "write_store_delta": ("evorec.tools.training", "write_store_delta"),
    # datasets
    "Dataset": ("evorec.tools.data.schema", "Dataset"),
    "load_dataset": ("evorec.tools.data.loader", "load_dataset"),
    "synthetic_dir": ("evorec.tools.data.loader", "synthetic_dir"),
    "generate_synthetic": ("evorec.tools.data.synthetic", "generate_synthetic"),
    "load_truth": ("evorec.tools.data.synthetic", "load_truth"),
    "load_ground_truth": ("evorec.tools.data.synthetic", "load_ground_truth"),
    # the engines one at a time (the CLI's data, forecast and trends commands)
    "HistoryStore": ("evorec.tools.store.history", "HistoryStore"),
    "ingested_datasets": ("evorec.tools.store.history", "ingested_datasets"),
    "event_ids": ("evorec.tools.store.history", "event_ids"),
    "store_location": ("evorec.tools.store.client", "location"),
    "ForecastService": ("evorec.tools.forecast.service", "ForecastService"),
    "served_dataset": ("evorec.tools.forecast.training_data", "served_dataset"),
    "TrendService": ("evorec.tools.trends", "TrendService"),
    "available_models": ("evorec.tools.models", "available_models"),
    "plot_mix": ("evorec.tools.forecast.plots", "plot_mix"),
    "plot_user_trends": ("evorec.tools.trends.plots", "plot_user_trends"),
}

__all__ = [
    "CatalogWording",
    "CategoryCounts",
    "Constraints",
    "Dataset",
    "Evidence",
    "ForecastService",
    "HistoryStore",
    "InterestForecast",
    "ItemHit",
    "ItemSearch",
    "PrepareOptions",
    "PrepareReport",
    "RankedList",
    "StoreEvent",
    "Toolbox",
    "ToolboxProtocol",
    "TrendService",
    "UserHistory",
    "UserTrends",
    "available_models",
    "event_ids",
    "generate_synthetic",
    "ingested_datasets",
    "is_prepared",
    "load_dataset",
    "load_ground_truth",
    "load_truth",
    "plot_mix",
    "plot_user_trends",
    "prepare",
    "served_dataset",
    "store_location",
    "synthetic_dir",
    "wording_for",
    "write_store_delta",
]  # = the keys of _EXPORTS (tests/test_serving_facades.py)


__getattr__ = lazy_exports(__name__, _EXPORTS)
