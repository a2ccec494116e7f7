"""The command line's gated compounds (issue 30): ``--compounds``, ``--gates``, ``--gate-m``, ``--compound-only``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from geo.errors import InputError
from geo.vocab import DEFAULT_GATE_M  # issue 32: the parser reads no geopandas; the readers are imported when used

if TYPE_CHECKING:
    import geopandas as gpd

    from geo.compounds import Walls
    from geo.network import StreetNetwork

__all__ = ["add_compound_options", "read_compound_inputs", "walled"]


def _positive_m(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of metres, got '{text}'")
    return value


def add_compound_options(p: argparse.ArgumentParser, *, only: bool = True) -> None:
    """The options of gated compounds, for every command that reads inputs (run, site, report; batch: not ``only``).

    ``only``: also ``--compound-only`` (facility ids); batch reads the facilities' ``compound_only`` column only.
    """
    p.add_argument(
        "--compounds",
        type=Path,
        help="gated compounds (封闭小区) as polygons (GeoJSON/GeoPackage/Shapefile), or an OSM .osm/.pbf "
        "(landuse=residential with access=private, areas closed by barrier=wall/fence): their residents reach "
        "the streets only through the gates; a compound with no gate is open",
    )
    p.add_argument(
        "--gates",
        type=Path,
        help="the compounds' gates (出入口) as points, or an OSM file (barrier=gate, entrance=* nodes); default: "
        "read from --compounds, or from --network, when it is an OSM file",
    )
    p.add_argument(
        "--compounds-crs",
        choices=("auto", "wgs84", "gcj02", "bd09"),
        default="auto",
        help="the system of the compounds' and gates' lon/lat: auto (default: as the file says, and the notes say "
        "when they sit closer to the streets in another system), wgs84 (OSM, 天地图), gcj02 (高德 AOIs and "
        "entrances), bd09 (百度); gcj02 and bd09 are converted to WGS-84",
    )
    p.add_argument(
        "--gate-m",
        type=_positive_m,
        default=DEFAULT_GATE_M,
        help=f"how far a gate may lie from where a street crosses the compound's edge (default {DEFAULT_GATE_M:g} m)",
    )
    if not only:
        return
    p.add_argument(
        "--compound-only",
        default=None,
        help="facility ids, comma-separated, that serve only the residents of their own compound (e.g. a "
        "党群联络点 in an apartment block); a facilities column compound_only (yes/no, 是/否) does the same",
    )


def read_compound_inputs(args: argparse.Namespace) -> Walls | None:
    """The compounds and gates as read (fail fast, before the network); None without ``--compounds``."""
    path = getattr(args, "compounds", None)
    if path is None:
        if getattr(args, "gates", None) is not None:
            raise InputError("cli_compounds_gates_needs_compounds")
        return None
    from geo.compounds import read_walls

    system = getattr(args, "compounds_crs", "auto")
    return read_walls(path, args.gates, system=system, network=getattr(args, "network", None))


def walled(
    args: argparse.Namespace, network: StreetNetwork, got: Walls | None, facilities: gpd.GeoDataFrame
) -> tuple[StreetNetwork, gpd.GeoDataFrame]:
    """The network with the compounds' walls, and the facilities with ``compound_only`` marked; said on stderr."""
    from geo.compounds import compound_of, compound_only_flags, walled_network

    ids = [i.strip() for i in (getattr(args, "compound_only", None) or "").split(",") if i.strip()]
    if ids:
        unknown = sorted(set(ids) - set(map(str, facilities.index)))
        if unknown:
            raise InputError("cli_compounds_unknown_facility", column="facility_id", unknown=", ".join(unknown))
        facilities = facilities.copy()
        flags = compound_only_flags(facilities) | facilities.index.astype(str).isin(ids)
        facilities["compound_only"] = flags
    if got is None:
        if ids or compound_only_flags(facilities).any():
            print("note: facilities marked compound-only serve everyone: no --compounds given", file=sys.stderr)
        return network, facilities
    if got.gates is None:
        print(f"note: no gates given (--gates): all {len(got.compounds)} compounds are taken as open", file=sys.stderr)
    out = walled_network(network, got, gate_m=args.gate_m)
    flagged = compound_only_flags(facilities)
    if flagged.any():
        walls = out.derived.get("compounds")
        polys = walls.polygons if walls is not None else []
        where = compound_of(facilities.to_crs(network.crs).geometry.to_numpy(), polys)
        loose = facilities.index[flagged & (where < 0)]
        if len(loose):
            print(
                f"note: {len(loose)} facilities marked compound-only lie in no gated compound and serve everyone: "
                + ", ".join(map(str, loose[:5])),
                file=sys.stderr,
            )
    return out, facilities
