"""A package's public names loaded when first used (PEP 562): ``geo`` and ``analysis`` share this.

``quarterhour --help`` and the parsers' constants load without geopandas (issue 32, ``tests/test_startup.py``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, public: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's module-level ``__getattr__`` and ``__dir__``.

    Parameters
    ----------
    package
        The package's ``__name__``.
    public
        Each public name and the module it lives in.
    namespace
        The package's ``globals()``: a name, once loaded, is kept there (looked up once).

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)``: a public name from its module, else a submodule (as ``import geo.io``
        makes it); the public names with the package's own.
    """

    def __getattr__(name: str) -> Any:
        if name in public:
            value = getattr(importlib.import_module(public[name]), name)
        elif not name.startswith("__"):
            try:
                value = importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as e:
                if e.name != f"{package}.{name}":
                    raise
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value  # once
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *public})

    return __getattr__, __dir__
