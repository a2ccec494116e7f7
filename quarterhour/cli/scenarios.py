"""``quarterhour scenarios``: the workspace's scenarios from the command line.

- ``list``: the scenarios (id, name, unit, status, newest version, author, last saved);
- ``import FILE``: a scenario GeoJSON (``geo.scenario``) into the workspace, as a new scenario of the data
  given (the sample's by default), the same project the app finds for the same files;
- ``export ID --out FILE``: a version's changes as GeoJSON or GeoPackage (with the scenario's name,
  version and status in its metadata), written atomically, never over a file without ``--force``;
- ``status ID STATUS``: submit, review (with ``--comment``) or return a scenario.

The database is the app's: ``QUARTERHOUR_DATABASE_URL``, else the workspace file in the user's data folder.
Each command acts as an account (``quarterhour login``, ``--user NAME`` or the operator's ``--admin``, see
``quarterhour.cli.auth``) under the app's rules: a planner lists, imports into and exports their units'
scenarios only, with changes inside their units; a reviewer does not review their own.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from geo.errors import InputError
from quarterhour.cli.auth import acting, auth_options
from quarterhour.gis.outdir import out_path
from quarterhour.workspace.access import STATUSES

if TYPE_CHECKING:
    from quarterhour.workspace.store import Store

__all__ = ["add_scenarios_parser", "scenarios_command"]


def add_scenarios_parser(sub: argparse._SubParsersAction) -> None:
    """``quarterhour scenarios list|import|export|status``."""
    p = sub.add_parser(
        "scenarios",
        help="the saved scenarios of the workspace: list, import a GeoJSON, export, set the review status",
        description="The planning workspace the app saves into (QUARTERHOUR_DATABASE_URL, else a SQLite file "
        "in your data folder).",
    )
    what = p.add_subparsers(dest="action", required=True, parser_class=type(p))
    listing = what.add_parser("list", help="the scenarios: id, name, unit, status, version, author, last saved")
    auth_options(listing)
    imp = what.add_parser("import", help="a scenario GeoJSON file as a new scenario")
    imp.add_argument("file", type=Path, help="a scenario GeoJSON (saved by the app, or points with 'action')")
    imp.add_argument("--name", help="the scenario's name (default: the file's name)")
    imp.add_argument("--unit", default="", help="the review unit's code (default: the whole city)")
    for option, text in (
        ("--network", "the street network the scenario was made on (default: the sample's)"),
        ("--facilities", "the facilities it was made on (default: the sample's)"),
        ("--demand", "the residents (default: the sample's)"),
        ("--boundaries", "the review units: a file or 'luoyang' (default: the sample's)"),
    ):
        imp.add_argument(option, help=text)
    imp.add_argument("--facilities-crs", default="auto", help="as for run (default auto)")
    imp.add_argument("--demand-crs", default="auto", help="as for run (default auto)")
    imp.add_argument("--demand-total", type=float, help="as for run")
    imp.add_argument("--compounds", type=Path, help="the gated compounds it was made on, as for run (issue 30)")
    imp.add_argument("--gates", type=Path, help="their gates, as for run")
    auth_options(imp)
    exp = what.add_parser("export", help="a scenario's changes as GeoJSON (.geojson) or GeoPackage (.gpkg)")
    exp.add_argument("id", type=int, help="the scenario's id (see list)")
    exp.add_argument("--version", type=int, help="the version (default: the newest)")
    exp.add_argument("--out", type=out_path, required=True, help="the file to write: .geojson or .gpkg")
    exp.add_argument("--force", action="store_true", help="replace the file if it exists")
    auth_options(exp)
    status = what.add_parser("status", help="move a scenario: draft -> submitted -> reviewed (or back to draft)")
    status.add_argument("id", type=int, help="the scenario's id (see list)")
    status.add_argument("status", choices=STATUSES, help="the new status")
    status.add_argument("--comment", default="", help="the reviewer's comment")
    status.add_argument(
        "--version", type=int, help="the version you looked at (refused if the scenario was saved since)"
    )
    auth_options(status)


def _store() -> Store:
    """The workspace, loaded only when a command opens it (SQLAlchemy and Alembic stay out of ``run``)."""
    from quarterhour.workspace import open_store

    return open_store()


def scenarios_command(args: argparse.Namespace) -> int:
    """Run ``quarterhour scenarios ACTION``; the workspace's refusals are ``InputError``s (exit 2)."""
    from quarterhour.workspace.db import database_problems

    with database_problems():
        return {"list": _list, "import": _import, "export": _export, "status": _status}[args.action](args)


def _list(args: argparse.Namespace) -> int:
    store = _store()
    listed = store.scenarios(None, acting(args, store, "scenarios list"))
    if not listed:
        print(f"no scenarios yet in {store.engine.url.render_as_string(hide_password=True)}")
    for s in listed:
        print(
            f"{s.id}\t{s.name}\t{s.unit or 'city'}\t{s.status}\tv{s.head}\t{s.author}\t"
            f"{s.updated_at.astimezone():%Y-%m-%d %H:%M}"
        )
    return 0


def _import(args: argparse.Namespace) -> int:
    from geo._validate import clean_text  # issue 32: the readers here, not when the parser is built
    from geo.scenario import change_rows, read_scenario

    rows = change_rows(read_scenario(args.file))
    store = _store()
    who = acting(args, store, f"scenarios import {args.file.name}")
    from quarterhour.workspace.keys import project_for

    if args.compounds is not None or args.gates is not None:  # issue 30: read as run reads them, refused alike
        from quarterhour.cli.compounds import read_compound_inputs

        read_compound_inputs(args)
    key = project_for(
        args.network,
        args.facilities,
        args.demand,
        args.boundaries,
        facilities_crs=args.facilities_crs,
        demand_crs=args.demand_crs,
        demand_total=args.demand_total,
        walls=(args.compounds, args.gates),  # issue 30: the app's project of the same walled data
    )
    project = store.project(key)
    store.set_units(project, *_unit_tree(args.boundaries))
    name = clean_text(args.name or args.file.stem)  # an argument in another encoding (GBK) or with control chars
    made = store.create(project, name, clean_text(args.unit), who, changes=rows)
    print(f"imported {len(rows)} changes from {args.file.name} as scenario {made.id} '{made.name}' (version 1)")
    return 0


def _unit_tree(boundaries: str | None) -> tuple[dict[str, str], dict[str, object]]:
    """The review units' tree (which unit lies in which) and polygons, recorded with the project as the app does."""
    from analysis.unittree import unit_parents, unit_shapes
    from geo import read_boundaries, sample_paths

    source = sample_paths()["boundaries"] if boundaries in (None, "sample") else boundaries
    levels = read_boundaries(source)
    return unit_parents(levels), unit_shapes(levels)


def _export(args: argparse.Namespace) -> int:
    from geo.scenario import changes_frame, scenario_geojson  # issue 32: the writers here, not in the parser
    from quarterhour.gis.export import atomic_write, write_layers

    suffix = args.out.suffix.lower()
    if suffix not in (".geojson", ".json", ".gpkg"):
        raise InputError(
            "cli_scenarios_cannot_write_scenario_suffix", file=args.out.name, suffix_or_args=suffix or args.out.name
        )
    store = _store()
    who = acting(args, store, f"scenarios export {args.id}")
    opened = store.open(args.id, who, version=args.version)
    frame = changes_frame(opened.rows)
    if suffix == ".gpkg":
        write_layers({"changes": frame}, args.out, force=args.force, provenance=_provenance(opened))
    else:
        atomic_write(args.out, scenario_geojson(frame), force=args.force)
    sc = opened.scenario
    from quarterhour.workspace.audit import record

    record(store, who, "export", scenario_id=sc.id, version=opened.version, detail=args.out.name)
    print(f"wrote scenario {sc.id} '{sc.name}', version {opened.version} ({sc.status}): {len(frame)} changes")
    print(f"to {args.out}")
    return 0


def _provenance(opened: object) -> dict:
    from quarterhour.gis.export import provenance

    sc = opened.scenario
    return provenance(
        {
            "scenario": sc.name,
            "scenario_id": sc.id,
            "scenario_version": opened.version,
            "scenario_status": sc.status,
            "unit": sc.unit,
            "author": sc.author,
            **{f"version_{k}": v for k, v in opened.params.items()},
        },
        {},
    )


def _status(args: argparse.Namespace) -> int:
    store = _store()
    who = acting(args, store, f"scenarios status {args.id} {args.status}")
    sc = store.set_status(args.id, args.status, who, comment=args.comment, version=args.version)
    print(f"scenario {sc.id} '{sc.name}' is now {sc.status} (version {sc.status_version or sc.head})")
    return 0
