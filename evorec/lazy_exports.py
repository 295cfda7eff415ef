"""``lazy_exports``: the PEP 562 module ``__getattr__`` behind the facades ``evorec.agent`` and ``evorec.tools``.

A facade lists its public names as ``name -> (module, attribute)``; a name is imported on first use and then
kept in the facade's namespace, so importing one name does not import the whole package (chroma, torch,
statsmodels load only where they are needed). Imports nothing from evorec.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, tuple[str, str]]) -> Callable[[str], Any]:
    """The ``__getattr__`` for ``package`` (pass ``__name__``) serving ``exports`` on first use."""
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        try:
            module, attr = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(module), attr)
        namespace[name] = value  # later look-ups find it without coming here
        return value

    return __getattr__
