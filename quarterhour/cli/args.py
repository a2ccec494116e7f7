"""The ``quarterhour`` command's arguments: the inputs every command shares, and ``run``, ``site``, ``report``.

A bad argument exits with status 2 and one ``error:`` line (not argparse's
usage block), as bad input does in ``quarterhour.cli.main``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

# issue 32: light modules only (no pandas, geopandas, scipy): ``--help`` and a usage error answer at once
from analysis.defaults import DECAYS, MODE_SPEEDS_KMH, MODELS, OLDER_KMH, WALK_KMH, Group
from analysis.options import CIRCLE_MIN, ISOCHRONE_KINDS, CircleOptions, categories_options
from analysis.yardstick import STANDARDS
from geo.vocab import DEFAULT_MAX_SNAP_M, LEVELS, MODES, SYSTEMS
from quarterhour import __version__
from quarterhour.cli.auth import add_audit_parser, add_login_parsers
from quarterhour.cli.batch import add_batch_parser
from quarterhour.cli.compounds import add_compound_options
from quarterhour.cli.hours import add_hours_options
from quarterhour.cli.scenarios import add_scenarios_parser
from quarterhour.cli.serve import add_serve_parser  # issue 29
from quarterhour.cli.users import add_users_parser
from quarterhour.gis.outdir import out_path

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["build_parser", "circle_options", "measures"]

# issue 25: the defaults' help, from the one place they are defined (``analysis.options``, ``analysis.traveltime``)
#: ``--minutes``' help.
MINUTES_HELP = f"walking threshold in minutes (default {CIRCLE_MIN:g})"
#: ``--mode``'s help: each mode's default speed.
MODE_HELP = (
    "travel mode; sets the default speed: " + ", ".join(f"{m} {v:g}" for m, v in MODE_SPEEDS_KMH.items()) + " km/h"
)
#: ``--speed-kmh``' help.
SPEED_HELP = f"speed (default: the mode's, {WALK_KMH:g} km/h for walking)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")  # 'quarterhour site', or 'quarterhour'


#: The most isochrone bands drawn (``run --bands``): each is a layer of polygons per facility.
MAX_BANDS = 10


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def whole_number(text: str, *, least: int) -> int:
    """An option's whole number, ``least`` or more (argparse's message otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be {least} or more, got {text}")
    return value


def _count(text: str) -> int:
    return whole_number(text, least=0)


def _demand_crs(text: str) -> str:
    """A residents' coordinate system: one of ``SYSTEMS``, ``auto`` or ``EPSG:code``."""
    if text in (*SYSTEMS, "auto") or (text.upper().startswith("EPSG:") and text[5:].isdigit()):
        return text if text in (*SYSTEMS, "auto") else text.upper()
    raise argparse.ArgumentTypeError(f"invalid choice: '{text}' (choose from {', '.join(SYSTEMS)}, auto or EPSG:code)")


def _bands(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of minutes like 5,10,15") from None
    if not values or not all(0 < v < math.inf for v in values):
        raise argparse.ArgumentTypeError(f"'{text}': give minutes more than 0, like 5,10,15")
    if len(set(values)) > MAX_BANDS:
        raise argparse.ArgumentTypeError(
            f"{len(set(values))} bands; at most {MAX_BANDS} are drawn: give fewer, like 5,10,15"
        )
    return values


def _group(text: str) -> Group:
    column, _, speed = text.partition("=")
    if not column.strip():
        raise argparse.ArgumentTypeError(f"'{text}': give a column, like 60岁以上 or 60岁以上=3.2")
    if not speed:
        return Group(column.strip())
    return Group(column.strip(), OLDER_KMH if speed.strip().lower() == "older" else _positive(speed))


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not west,south,east,north in degrees") from None
    if not (west < east and south < north):
        raise argparse.ArgumentTypeError(f"'{text}': west must be less than east and south less than north")
    return west, south, east, north


def road_args(p: argparse.ArgumentParser) -> None:
    """Issue 30: how a road layer given as the network is read."""
    p.add_argument(
        "--network-crs",
        help="coordinate system of a road layer that does not say it (or says WGS-84 for an AMap/Baidu export): "
        "gcj02 (高德, 腾讯), bd09 (百度), wgs84, or an EPSG code such as EPSG:4547; converted to WGS-84 at import",
    )
    p.add_argument(
        "--join-ends-m",
        type=_not_negative,
        help="road layer: join line ends closer than this many metres (default 1; 0 joins only ends that coincide)",
    )
    p.add_argument(
        "--walkable",
        type=Path,
        help="road layer: a CSV of road class,yes/no over the defaults (expressways and their ramps are not walked)",
    )


def _not_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' must be 0 or more metres")
    return value


def _inputs(p: argparse.ArgumentParser) -> None:
    """The inputs every command shares: what ``quarterhour run`` takes."""
    p.add_argument(
        "--network",
        type=Path,
        help="street network: osmnx .graphml, OSM XML .osm, an .osm.pbf extract, or a road layer of lines "
        "(.shp, .zip, .gpkg, .geojson; noded here: see --network-crs, --join-ends-m, --walkable)",
    )
    road_args(p)
    p.add_argument("--place", help="download the walking network of this place from OpenStreetMap (cached)")
    p.add_argument("--bbox", type=_bbox, help="download the walking network of this box: west,south,east,north")
    p.add_argument("--clip", action="store_true", help="keep only the streets inside the top-level boundaries")
    p.add_argument(
        "--consolidate-m",
        type=_positive,
        help="merge the nodes of complex intersections within this many metres (e.g. 10)",
    )
    p.add_argument("--facilities", type=Path, help="facility points (GeoJSON/GeoPackage): name, category")
    p.add_argument(
        "--facilities-crs",
        choices=(*SYSTEMS, "auto"),
        default="auto",
        help="coordinate system of facility and candidate points: wgs84 (GPS, OSM, 天地图), gcj02 (高德, 腾讯), "
        "bd09 (百度), or auto (default: a table's lon/lat judged by how close each reading falls to the streets; "
        "a GeoJSON/GeoPackage/Shapefile keeps its own CRS); converted to WGS-84",
    )
    p.add_argument(
        "--demand",
        type=Path,
        help="resident points with 'pop', areas or cells with 'pop', building footprints, a CSV/XLSX of lon/lat "
        "and population (人口, 常住人口, 户籍人口), a CSV/XLSX of units (社区 or 区划代码, and 常住人口) matched to "
        "--boundaries, or a population GeoTIFF (WorldPop, LandScan; read around the streets)",
    )
    p.add_argument(
        "--demand-crs",
        type=_demand_crs,
        default="auto",
        help="coordinate system of the residents' lon/lat, as --facilities-crs (default auto), or EPSG:code for a "
        "table's x/y in metres (e.g. EPSG:4547, CGCS2000 Gauss-Kruger)",
    )
    p.add_argument(
        "--buildings",
        type=Path,
        help="building footprints (e.g. from 高德, with a 'levels'/层数 column): areas, cells and rasters of "
        "residents are spread over them by floor area, rather than along the streets",
    )
    p.add_argument("--minutes", type=_positive, default=CIRCLE_MIN, help=MINUTES_HELP)
    p.add_argument(
        "--mode",
        choices=MODES,
        default="walk",
        help=MODE_HELP,
    )
    p.add_argument("--speed-kmh", type=_positive, help=SPEED_HELP)
    measures(p)
    p.add_argument(
        "--max-snap-m",
        type=_positive,
        default=DEFAULT_MAX_SNAP_M,
        help="points farther than this from any street are off-network (default 300 m)",
    )
    p.add_argument(
        "--boundaries",
        help="admin boundaries: GeoPackage with layers city/district/subdistrict/community/grid, or one layer with "
        "a 'level' column, or 'luoyang' (bundled: the city and its 7 districts); default with the whole "
        "sample: the sample's",
    )
    p.add_argument("--demand-total", type=_positive, help="scale the residents to this total")
    add_compound_options(p)  # issue 30: gated compounds
    _cache_dir(p)
    p.add_argument("--out", type=out_path, required=True, help="output folder (created if missing)")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.add_argument("--quiet", action="store_true", help="no progress: no step lines (or bar, on a terminal) on stderr")


def measures(p: argparse.ArgumentParser) -> None:
    """What a circle is measured by, as ``run`` and ``batch`` take it: the yardstick, population groups, categories.

    Parameters
    ----------
    p
        The command's parser.
    """
    # issue 17 part B: the yardstick and population groups
    p.add_argument(
        "--standard",
        choices=STANDARDS,
        default="minutes",
        help="yardstick: minutes (default: --minutes at --speed-kmh), gb50180 (GB 50180-2018 network walking "
        "distance: 15 min = 1,000 m, 10 min = 500 m, 5 min = 300 m) or gb50180-strict (15 min = 800 m)",
    )
    p.add_argument(
        "--group",
        type=_group,
        action="append",
        default=[],
        metavar="COLUMN[=SPEED_KMH]",
        help="a population group: a residents column (e.g. 60岁以上) covered at its own speed, a number or "
        f"'older' ({OLDER_KMH:g} km/h); repeatable. Age headers (60岁以上, 0-6岁, 65+) are found without it",
    )
    p.add_argument(
        "--categories", type=Path, help="CSV: category, minutes (threshold)[, capacity] (default GB 50180-2018)"
    )


def _cache_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cache-dir",
        type=Path,
        help="folder of prepared networks and downloads (default: $QUARTERHOUR_CACHE, else the user's cache folder)",
    )


def _network(sub: argparse._SubParsersAction) -> None:
    """``quarterhour network FILE``: prepare a network into the store and say what it holds."""
    p = sub.add_parser(
        "network",
        help="prepare a street network once (kept in the store) and say what it holds",
        description="Prepare a street network into the store, so later commands and the app read it in about "
        "a second, and print its nodes, segments, fragments, extent and cache path.",
    )
    p.add_argument(
        "file",
        nargs="?",
        type=Path,
        help="street network: osmnx .graphml, OSM XML .osm, an .osm.pbf extract, or a road layer of lines",
    )
    road_args(p)
    p.add_argument("--place", help="download the walking network of this place from OpenStreetMap (cached)")
    p.add_argument("--bbox", type=_bbox, help="download the walking network of this box: west,south,east,north")
    p.add_argument("--clip", action="store_true", help="keep only the streets inside the top-level boundaries")
    p.add_argument("--boundaries", help="admin boundaries for --clip (a file, or 'luoyang')")
    p.add_argument(
        "--consolidate-m",
        type=_positive,
        help="merge the nodes of complex intersections within this many metres (e.g. 10)",
    )
    _cache_dir(p)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``quarterhour`` and its commands (run, site, report, network, scenarios, users, batch)."""
    parser = _Parser(prog="quarterhour", description="一刻钟 quarterhour: 15-minute service-circle planner")
    parser.add_argument("--version", action="version", version=f"quarterhour {__version__}")
    parser.add_argument(  # issue 25 item 5: the language of the messages (the command's --lang says it too)
        "--lang",
        dest="message_lang",
        choices=("zh", "en"),
        help="the language of errors and notes: zh 中文 or en English (default: QUARTERHOUR_LANG, else the "
        "system locale: zh_* gives 中文, any other English)",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser(
        "run",
        help="coverage, isochrones, gaps (and suggested sites with --suggest); writes DIR/coverage.gpkg",
        description="Walking coverage of facilities. Inputs not given come from the bundled sample.",
    )
    _inputs(run)
    run.add_argument(
        "--bands",
        type=_bands,
        default=[],
        help="more isochrone thresholds in minutes, e.g. 5,10 (the --minutes one is always drawn)",
    )
    run.add_argument(
        "--isochrones",
        choices=(*ISOCHRONE_KINDS, "none"),  # issue 32: none
        default="facility",
        help="the isochrones layer: one per facility (default: facility; at city scale most of a run's time, "
        "shown in its step line), all merged, split to the nearest facility, or none (no isochrones layer)",
    )
    run.add_argument(
        "--decay", choices=DECAYS, default="none", help="2SFCA distance decay: none, gaussian, stepped (E2SFCA)"
    )
    run.add_argument(
        "--load-norm",
        type=_positive,
        help="flag a facility as overloaded above this many residents per unit of capacity (e.g. per m²)",
    )
    run.add_argument(
        "--suggest",
        type=_count,
        default=0,
        metavar="K",
        help="also suggest K new sites (exact MCLP on a 100 m grid; default 0: no siting work)",
    )
    add_hours_options(run)  # issue 31: --at, --when
    site = sub.add_parser(
        "site",
        help="where new neighbourhood centres go: set cover, maximal coverage or p-median; writes DIR/sites.gpkg",
        description="Siting suggestions with the coverage each adds. Inputs not given come from the bundled sample.",
    )
    _inputs(site)
    site.add_argument(
        "--model",
        choices=MODELS,
        required=True,
        help="lscp: fewest centres for --target; mclp: --k centres covering most; pmedian: --k centres "
        "minimising the walk",
    )
    site.add_argument("--k", type=_count, default=1, help="number of new centres (mclp, pmedian; default 1)")
    add_hours_options(site)  # issue 31: the residents left out at a time, or in a window
    site.add_argument(
        "--target", type=_positive, default=0.95, help="lscp: share of all residents to cover, e.g. 0.95 (default)"
    )
    site.add_argument("--candidates", type=Path, help="candidate points (e.g. vacant community rooms, 物业用房)")
    site.add_argument("--exclude", type=Path, help="polygons no candidate may fall in (water, rail, parks)")
    site.add_argument("--spacing-m", type=_positive, default=200.0, help="grid candidates: spacing (default 200 m)")
    site.add_argument("--in-gaps", action="store_true", help="grid candidates only inside the gap zones")
    site.add_argument("--close", default="", help="facility ids to close, comma-separated: they no longer cover")
    site.add_argument("--capacity", type=_positive, help="mclp: residents one new centre can serve at most")
    site.add_argument("--curve", type=_count, default=10, help="coverage curve for k = 1 ... N (default 10; 0: none)")
    site.add_argument("--time-limit", type=_positive, default=60.0, help="solver time limit in seconds (default 60)")
    report = sub.add_parser(
        "report",
        help="review pack: per admin unit a GeoPackage, map, tables, HTML and PDF report; a city summary",
        description="The review pack for district reviews, one folder per unit of --level, and a city summary. "
        "Inputs not given come from the bundled sample.",
    )
    _inputs(report)
    report.add_argument(
        "--level",
        choices=LEVELS,
        default="district",
        help="the review units: one folder per unit of this level (default district)",
    )
    report.add_argument("--k", type=_count, default=3, help="new sites suggested per unit at most (MCLP; default 3)")
    report.add_argument("--lang", choices=("zh", "en"), default="zh", help="zh: 中文 (English); en: English")
    add_hours_options(report)  # issue 31: --at, --when
    report.add_argument(
        "--spacing-m", type=_positive, default=100.0, help="candidate sites: network nodes on this grid (default 100 m)"
    )
    report.add_argument("--time-limit", type=_positive, default=10.0, help="solver time limit per unit (default 10 s)")
    _network(sub)
    add_scenarios_parser(sub)
    add_users_parser(sub)
    add_batch_parser(sub)
    add_login_parsers(sub)
    add_audit_parser(sub)
    add_serve_parser(sub)  # issue 29: the app on N processes behind nginx
    return parser


def circle_options(
    args: argparse.Namespace, categories: pd.DataFrame | None = None, groups: tuple[Group, ...] | None = None
) -> CircleOptions:
    """The circle's options as a command's arguments give them (issue 25: one value, ``CircleOptions``).

    Parameters
    ----------
    args
        The parsed arguments of ``run``, ``site``, ``report`` or ``batch`` (what a command lacks keeps its default).
    categories
        The ``--categories`` table (``geo.read_categories``), or None.
    groups
        The population groups found in the residents (``analysis.groups.find_groups``); None: those named.

    Returns
    -------
    CircleOptions
        The options.

    Examples
    --------
    >>> args = build_parser().parse_args(["run", "--out", "x", "--mode", "bike", "--minutes", "10"])
    >>> o = circle_options(args)
    >>> o.speed_kmh, o.minutes, o.n_sites
    (15.0, 10.0, 0)
    """
    given = {
        "minutes": args.minutes,
        "mode": args.mode,
        "speed_kmh": args.speed_kmh,
        "standard": args.standard,
        "bands": getattr(args, "bands", None) or (),
        "decay": getattr(args, "decay", "none"),
        "load_norm": getattr(args, "load_norm", None),
        "max_snap_m": args.max_snap_m,
        "groups": tuple(args.group) if groups is None else groups,
        "n_sites": getattr(args, "suggest", 0) or 0,
        **categories_options(categories),
    }
    if isinstance(getattr(args, "isochrones", None), str):  # issue 32: ``none`` draws no reach at all
        given["isochrones"] = () if args.isochrones == "none" else (args.isochrones,)
    return CircleOptions(**given)
