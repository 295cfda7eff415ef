"""Model registry: every module in this package that defines a ``@register``-ed class is a model."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

from evorec.tools.models.base import FitReport, Recommender, ValidationSet

_REGISTRY: dict[str, type[Recommender]] = {}
_DISCOVERED = False


def register(cls: type[Recommender]) -> type[Recommender]:
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"model name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    for mod in pkgutil.iter_modules(__path__):
        if mod.name not in {"base"} and not mod.name.startswith("_"):
            importlib.import_module(f"{__name__}.{mod.name}")
    _DISCOVERED = True


def available_models() -> list[str]:
    _discover()
    return sorted(_REGISTRY)


def create_model(name: str, **config: Any) -> Recommender:
    _discover()
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**config)


__all__ = ["FitReport", "Recommender", "ValidationSet", "available_models", "create_model", "register"]
