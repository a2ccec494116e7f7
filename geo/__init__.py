"""Reading and preparing: files and OSM in, one projected CRS out.

The names below are loaded when first used (PEP 562), so ``quarterhour --help`` and the
parsers' constants (``geo.vocab``) load without geopandas (issue 32, ``tests/test_startup.py``).
"""

from __future__ import annotations

from geo._lazy import lazy_names

#: Each public name and the module it lives in.
_PUBLIC = {
    "InputError": "geo.errors",
    "prepare_graphml": "geo.graphml",
    "load_sample": "geo.io",
    "read_boundaries": "geo.io",
    "read_categories": "geo.io",
    "read_demand": "geo.io",
    "read_facilities": "geo.io",
    "read_network": "geo.io",
    "sample_paths": "geo.io",
    "StreetNetwork": "geo.network",
    "prepare_network": "geo.network",
    "snap_points": "geo.snap",
    "CATEGORIES": "geo.vocab",
    "CATEGORY_MINUTES": "geo.vocab",
    "LEVELS": "geo.vocab",
}

__all__ = [
    "CATEGORIES",
    "CATEGORY_MINUTES",
    "LEVELS",
    "InputError",
    "StreetNetwork",
    "load_sample",
    "prepare_graphml",
    "prepare_network",
    "read_boundaries",
    "read_categories",
    "read_demand",
    "read_facilities",
    "read_network",
    "sample_paths",
    "snap_points",
]


__getattr__, __dir__ = lazy_names(__name__, _PUBLIC, globals())
