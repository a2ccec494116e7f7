"""The batch face: ``quarterhour run ... --out DIR``.

Bad input exits with status 2 and one ``error:`` line on stderr; a bug exits
with status 1 and one line too. Never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from analysis.accessibility import DECAYS
from analysis.demand import prepare_demand
from analysis.pipeline import ISOCHRONE_KINDS, CircleResult, run_circle
from analysis.traveltime import MODE_SPEEDS_KMH
from geo import (
    InputError,
    prepare_network,
    read_boundaries,
    read_categories,
    read_demand,
    read_facilities,
    read_network,
    sample_paths,
)
from geo.snap import DEFAULT_MAX_SNAP_M
from quarterhour import __version__
from quarterhour.export import write_layers

__all__ = ["main"]

log = logging.getLogger("quarterhour")
_MODE_WORDS = {"walk": "walk", "bike": "by bike", "ebike": "by e-bike"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not argparse's usage block
        self.exit(2, f"error: {message} (see 'quarterhour {self.prog.split()[-1]} --help')\n")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _bands(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a list of minutes like 5,10,15") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"'{text}': give minutes more than 0, like 5,10,15")
    return values


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="quarterhour", description="一刻钟 quarterhour: 15-minute service-circle planner")
    parser.add_argument("--version", action="version", version=f"quarterhour {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser(
        "run",
        help="coverage, isochrones, gaps and a suggested site; writes DIR/coverage.gpkg",
        description="Walking coverage of facilities. Inputs not given come from the bundled sample.",
    )
    run.add_argument("--network", type=Path, help="street network: osmnx .graphml or OSM XML .osm")
    run.add_argument("--facilities", type=Path, help="facility points (GeoJSON/GeoPackage): name, category")
    run.add_argument("--demand", type=Path, help="resident points (GeoJSON/GeoPackage) with a 'pop' column")
    run.add_argument("--minutes", type=_positive, default=15.0, help="walking threshold in minutes (default 15)")
    run.add_argument(
        "--bands",
        type=_bands,
        default=[],
        help="more isochrone thresholds in minutes, e.g. 5,10 (the --minutes one is always drawn)",
    )
    run.add_argument(
        "--isochrones",
        choices=ISOCHRONE_KINDS,
        default="facility",
        help="the isochrones layer: one per facility (default), all merged, or split to the nearest facility",
    )
    run.add_argument(
        "--mode",
        choices=list(MODE_SPEEDS_KMH),
        default="walk",
        help="travel mode; sets the default speed: walk 4.5, bike 15, ebike 20 km/h",
    )
    run.add_argument("--speed-kmh", type=_positive, help="speed (default: the mode's, 4.5 km/h for walking)")
    run.add_argument(
        "--max-snap-m",
        type=_positive,
        default=DEFAULT_MAX_SNAP_M,
        help="points farther than this from any street are off-network (default 300 m)",
    )
    run.add_argument(
        "--boundaries",
        type=Path,
        help="admin boundaries: GeoPackage with layers city/district/subdistrict/community, or one layer with "
        "a 'level' column (default with the whole sample: the sample's)",
    )
    run.add_argument(
        "--categories", type=Path, help="CSV: category, minutes (threshold)[, capacity] (default GB 50180-2018)"
    )
    run.add_argument("--demand-total", type=_positive, help="scale the residents to this total")
    run.add_argument(
        "--decay", choices=DECAYS, default="none", help="2SFCA distance decay: none, gaussian, stepped (E2SFCA)"
    )
    run.add_argument(
        "--load-norm",
        type=_positive,
        help="flag a facility as overloaded above this many residents per unit of capacity (e.g. per m²)",
    )
    run.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    run.add_argument("--force", action="store_true", help="replace an existing DIR/coverage.gpkg")
    return parser


def _run(args: argparse.Namespace) -> int:
    sample = sample_paths()
    all_sample = all(getattr(args, name) is None for name in ("network", "facilities", "demand"))
    for name in ("network", "facilities", "demand"):
        if getattr(args, name) is None:
            setattr(args, name, sample[name])
            print(f"note: no --{name} given: using the bundled sample ({sample[name].name})", file=sys.stderr)
    if args.boundaries is None and all_sample:
        args.boundaries = sample["boundaries"]
        print(f"note: no --boundaries given: using the sample's ({sample['boundaries'].name})", file=sys.stderr)
    if args.speed_kmh is None:
        args.speed_kmh = MODE_SPEEDS_KMH[args.mode]
    network = prepare_network(read_network(args.network), source=args.network.name)
    facilities = read_facilities(args.facilities).to_crs(network.crs)
    demand, how = prepare_demand(read_demand(args.demand).to_crs(network.crs), total=args.demand_total)
    print(f"note: residents from {how}", file=sys.stderr)
    boundaries = (
        {level: gdf.to_crs(network.crs) for level, gdf in read_boundaries(args.boundaries).items()}
        if args.boundaries
        else None
    )
    categories = read_categories(args.categories) if args.categories else None
    result: CircleResult = run_circle(
        network,
        facilities,
        demand,
        minutes=args.minutes,
        bands=args.bands,
        isochrones=(args.isochrones,),
        boundaries=boundaries,
        category_minutes=categories["minutes"].to_dict() if categories is not None else None,
        category_capacity=categories["capacity"].dropna().to_dict() if categories is not None else None,
        decay=args.decay,
        load_norm=args.load_norm,
        speed_kmh=args.speed_kmh,
        max_snap_m=args.max_snap_m,
    )
    for line in result.skipped:
        print(f"note: {line}", file=sys.stderr)
    out = args.out / "coverage.gpkg"
    write_layers(result.layers(args.isochrones), out, force=args.force)
    s = result.summary
    print(
        f"covered {s['pop_covered']:,.0f} of {s['pop_total']:,.0f} residents ({s['pct_covered']:.1f}%) "
        f"within {s['minutes']:g} min {_MODE_WORDS[args.mode]} at {s['speed_kmh']:g} km/h; wrote {out}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``quarterhour`` console command."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return _run(args)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug, not bad input: one line, and a way to see more
        log.debug("internal error", exc_info=True)
        print(f"error: internal error, please report it: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
