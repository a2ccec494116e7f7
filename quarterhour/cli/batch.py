"""``quarterhour batch``: one circle per unit of a region (cities, counties, districts), on Dask.

On a laptop it starts a ``LocalCluster`` (one worker process per core); given
``--scheduler tcp://host:8786`` it runs on that cluster. Every input is checked
before the cluster starts (exit 2); the exit status is 0 when every unit ran, 1
when some failed (each said with its error), 2 for bad input. The engine is
``quarterhour.batch.run``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from geo.vocab import DEFAULT_MAX_SNAP_M, MODES, SYSTEMS  # issue 32: the parser reads no geopandas
from quarterhour.gis.outdir import out_path
from quarterhour.i18n import yardstick_text

if TYPE_CHECKING:
    from quarterhour.batch.run import BatchResult
    from quarterhour.batch.unit import BatchOptions

__all__ = ["add_batch_parser", "batch_command"]


def _workers(text: str) -> int:
    from quarterhour.cli.args import whole_number  # here: cli_args registers this parser

    return whole_number(text, least=1)


def add_batch_parser(sub: argparse._SubParsersAction) -> None:
    """``quarterhour batch --units UNITS --network REGION --out DIR [--scheduler ADDRESS] [--workers N]``."""
    from quarterhour.cli.args import (  # here: cli_args registers this parser
        CIRCLE_MIN,
        MINUTES_HELP,
        SPEED_HELP,
        _cache_dir,
        _positive,
        measures,
        road_args,
    )
    from quarterhour.cli.compounds import add_compound_options

    p = sub.add_parser(
        "batch",
        help="one circle per unit (city, county, district) of a region, on Dask: resumable; writes DIR/<code>/",
        description="Run the circle for every unit of --units on its part of the regional network (grown by one "
        "threshold's walk), on a local Dask cluster or on --scheduler's. Writes DIR/<code>/coverage.gpkg, a "
        "summary (coverage_units.csv, coverage_levels.csv, coverage.xlsx, coverage_units.gpkg), DIR/manifest.json "
        "and DIR/batch.log. Run it again to resume: complete units with unchanged inputs are skipped.",
    )
    p.add_argument(
        "--units",
        required=True,
        help="the units: GeoPackage, GeoJSON or zipped Shapefile of polygons with 'code' and 'name' (a file with "
        "levels: its lowest level), or 'luoyang' (its 7 districts)",
    )
    p.add_argument(
        "--network",
        type=Path,
        required=True,
        help="the region's streets: .osm.pbf, .osm, .graphml, or a road layer of lines (.shp, .zip, .gpkg, .geojson)",
    )
    road_args(p)  # issue 30: --network-crs, --join-ends-m, --walkable
    p.add_argument("--facilities", type=Path, help="facility points of the region (default: the bundled sample's)")
    p.add_argument("--facilities-crs", choices=(*SYSTEMS, "auto"), default="auto", help="as for 'run' (auto)")
    p.add_argument("--demand", type=Path, help="residents of the region, as for 'run' (default: the sample's)")
    p.add_argument("--demand-crs", choices=(*SYSTEMS, "auto"), default="auto", help="as for 'run' (auto)")
    p.add_argument("--minutes", type=_positive, default=CIRCLE_MIN, help=MINUTES_HELP)
    p.add_argument("--mode", choices=MODES, default="walk", help="travel mode; sets the default speed")
    p.add_argument("--speed-kmh", type=_positive, help=SPEED_HELP)
    measures(p)  # --standard, --group, --categories: as for 'run'
    p.add_argument(
        "--max-snap-m", type=_positive, default=DEFAULT_MAX_SNAP_M, help="off-network beyond this (default 300 m)"
    )
    p.add_argument(
        "--scheduler",
        help="a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (dask-ssh, dask-kubernetes, dask-jobqueue); "
        "default: a local cluster on this machine",
    )
    p.add_argument("--workers", type=_workers, help="the local cluster's worker processes (default: one per core)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="the summary's headings: zh: 中文 (English)")
    add_compound_options(p, only=False)  # issue 30: --compounds, --gates, --gate-m
    _cache_dir(p)
    p.add_argument("--out", type=out_path, required=True, help="the batch folder (created if missing)")
    p.add_argument("--force", action="store_true", help="write into a folder that is not this batch's; rerun all")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr (DIR/batch.log is still written)")


def batch_command(args: argparse.Namespace) -> int:
    """Run ``quarterhour batch``: 0 when every unit ran, 1 when some failed."""
    import distributed  # noqa: F401 -- importing it sets its loggers' levels; ours must come after

    # here, not at the top: the batch machinery (Dask, the pack's PDF) is not imported by the other commands
    from geo import sample_paths
    from quarterhour.batch.run import BatchInputs, Engine, check_address, check_out, prepare_batch, run_batch
    from quarterhour.gis.roadlayer import road_options

    logging.getLogger("distributed").setLevel(logging.ERROR)  # the cluster's chatter: our lines say the progress
    if args.scheduler:
        check_address(args.scheduler)  # before any reading
        if args.workers:
            print("note: --workers sizes a local cluster; the cluster at --scheduler has its own", file=sys.stderr)
    check_out(args.out, args.units, force=args.force)  # before the slow reading
    sample = sample_paths()
    for role in ("facilities", "demand"):
        if getattr(args, role) is None:
            setattr(args, role, sample[role])
            print(f"note: no --{role} given: using the bundled sample ({sample[role].name})", file=sys.stderr)
    options = _options(args)
    inputs = BatchInputs(
        units=args.units,
        network=args.network,
        facilities=args.facilities,
        demand=args.demand,
        facilities_crs=args.facilities_crs,
        demand_crs=args.demand_crs,
        options=options,
        cache_dir=args.cache_dir,
        compounds=args.compounds,  # issue 30
        gates=args.gates,
        gate_m=args.gate_m,
        compounds_crs=args.compounds_crs,
        roads=road_options(args),  # issue 30
    )
    say = (lambda _: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    prepared = prepare_batch(inputs, say=lambda line: say(f"note: {line}"))
    for line in prepared.notes:
        say(f"note: {line}")
    result = run_batch(
        prepared,
        args.out,
        engine=Engine(args.scheduler, args.workers),
        force=args.force,
        quiet=args.quiet,
        lang=args.lang,
        say=say,
    )
    _report(result, args.out, options)
    return 1 if result.failed else 0


def _options(args: argparse.Namespace) -> BatchOptions:
    """The circle's options, read as ``run`` reads them (the categories' table checked before any cluster)."""
    from geo import read_categories
    from quarterhour.batch.unit import BatchOptions
    from quarterhour.cli.args import circle_options  # here: cli_args registers this parser

    categories = read_categories(args.categories) if args.categories else None
    return BatchOptions.of(circle_options(args, categories))  # issue 25: as ``run`` builds them


def _report(result: BatchResult, out: Path, options: BatchOptions) -> None:
    """The batch's last lines: each failure with its error, then the totals."""
    for code in result.failed:
        print(f"failed: {code}: {result.records[code].get('error')}", file=sys.stderr)
    done = [rec["summary"] for rec in result.records.values() if rec.get("status") == "done"]
    total = sum(s["pop_total"] for s in done)
    covered = sum(s["pop_covered"] for s in done)
    pct = f" ({100 * covered / total:.1f}%)" if total else ""
    print(
        f"{len(done)} of {len(result.records)} units done ({len(result.ran)} run now, {len(result.skipped)} "
        f"complete before, {len(result.failed)} failed); covered {covered:,.0f} of {total:,.0f} residents{pct}; "
        f"wrote {out}"
    )
    print(f"yardstick: {yardstick_text(options.yardstick, options.minutes, 'en')}")
