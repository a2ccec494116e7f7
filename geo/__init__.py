"""Reading and preparing: files and OSM in, one projected CRS out."""

from geo.errors import InputError
from geo.graphml import prepare_graphml
from geo.io import (
    load_sample,
    read_boundaries,
    read_categories,
    read_demand,
    read_facilities,
    read_network,
    sample_paths,
)
from geo.network import StreetNetwork, prepare_network
from geo.snap import snap_points
from geo.vocab import CATEGORIES, CATEGORY_MINUTES, LEVELS

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
