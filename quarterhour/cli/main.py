"""The batch face: ``quarterhour run|site|report ... --out DIR`` (arguments in ``quarterhour.cli.args``).

Bad input exits with status 2 and one ``error:`` line on stderr; a bug exits
with status 1 and one line too. Never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

# issue 32: light modules only, so that --version, --help and a usage error answer before any of geopandas,
# pandas, shapely or scipy loads; each command imports its machinery where it is used
from analysis.defaults import MODE_SPEEDS_KMH
from analysis.yardstick import yardstick
from geo.errors import InputError, plain_text
from geo.notes import note
from quarterhour.cli.args import build_parser, circle_options
from quarterhour.cli.auth import audit_command, cli_lang, login_command, logout_command
from quarterhour.cli.batch import batch_command
from quarterhour.cli.compounds import read_compound_inputs, walled
from quarterhour.cli.hours import (
    HOURS_FILES,
    covered_then,
    hours_asked,
    hours_line,
    hours_record,
    run_hours,
    site_hours,
    site_hours_line,
    write_hours_tables,
)
from quarterhour.cli.scenarios import scenarios_command
from quarterhour.cli.serve import serve_command  # issue 29
from quarterhour.cli.users import users_command
from quarterhour.gis.outdir import claim
from quarterhour.i18n import error_words, group_text, note_text, t, yardstick_text

if TYPE_CHECKING:
    from analysis.pipeline import CircleResult
    from quarterhour.cli.progress import Steps
    from quarterhour.study import StudySpec

__all__ = ["main"]

log = logging.getLogger("quarterhour")


def _defaults(args: argparse.Namespace) -> None:
    """Fill in the inputs not given from the bundled sample (and say so), and the mode's speed."""
    from geo.io import sample_paths

    sample = sample_paths()
    downloads = bool(args.place or args.bbox)
    if downloads and args.network:
        raise InputError("cli_give_network_place_bbox")
    if args.bbox:
        from geo.osm import check_box  # issue 32: the downloads' module, for a download only

        check_box(args.bbox)  # the download's own check, before anything is read
    all_sample = not downloads and all(getattr(args, n) is None for n in ("network", "facilities", "demand"))
    for name in ("facilities", "demand") if downloads else ("network", "facilities", "demand"):
        if getattr(args, name) is None:
            setattr(args, name, sample[name])
            _note(note("sample_input", option=f"--{name}", file=sample[name].name))  # the flag, not translated
    if args.boundaries is None and all_sample:
        args.boundaries = sample["boundaries"]
        _note(note("sample_boundaries", file=sample["boundaries"].name))
    if args.speed_kmh is None:
        args.speed_kmh = MODE_SPEEDS_KMH[args.mode]


def _spec(args: argparse.Namespace) -> StudySpec:
    """What ``quarterhour.study.load_study`` reads for this command (issue 25: one way in for every face)."""
    from quarterhour.gis.roadlayer import road_options
    from quarterhour.study import StudySpec

    network = args.network
    if args.place or args.bbox:
        network = f"osm:{args.place}" if args.place else "bbox:" + ",".join(str(v) for v in args.bbox)
    return StudySpec(
        network=network,
        facilities=args.facilities,
        demand=args.demand,
        boundaries=args.boundaries,
        categories=args.categories,
        candidates=getattr(args, "candidates", None),
        exclude=getattr(args, "exclude", None),
        buildings=args.buildings,
        facilities_crs=args.facilities_crs,
        demand_crs=args.demand_crs,
        demand_total=args.demand_total,
        groups=tuple(args.group),
        max_snap_m=args.max_snap_m,
        clip=args.clip,
        consolidate_m=args.consolidate_m,
        cache_dir=args.cache_dir,
        roads=road_options(args),  # issue 30: --network-crs, --join-ends-m, --walkable (checked here, before the read)
    )


def _load(args: argparse.Namespace, step: Steps) -> tuple:
    """Read and prepare the shared inputs: (network, facilities, demand, boundaries, categories, extra).

    Every input file is read and checked before the network (fail fast: ``quarterhour.study.load_study``);
    ``extra`` holds the candidates and exclusion areas of ``site``, in the network's CRS, the population
    groups, and the study itself.
    """
    step("reading")  # issue 32: the first step starts before its readers (geopandas, pandas, pyogrio) load,
    # and the engine, the store and the writers load before any data is read, as when this module loaded them:
    # modules loaded amid the data sit above its temporaries in the heap and keep them from being given back
    # (a warm run on the sample peaked 50 MB higher)
    import analysis.stages  # noqa: F401
    import geo.store  # noqa: F401
    import quarterhour.gis.export
    import quarterhour.gis.roadlayer  # noqa: F401
    from quarterhour.study import CoordinateNote, load_study

    _defaults(args)
    compounds = read_compound_inputs(args)  # issue 30: gated compounds and their gates, read before the network
    study = load_study(_spec(args), progress=step)
    args.facilities_crs = study.choices[0][1].system  # provenance records the system the facilities were read in
    for line in study.notes:  # issue 25: in the messages' language (a coordinate note says itself in it)
        _note(line.text(_LANG[0]) if isinstance(line, CoordinateNote) and _LANG[0] != "en" else line)
    _note(note("residents_from", how=study.how))
    for line in study.boundary_notes:
        _note(line)
    extra = {"candidates": study.candidates, "exclude": study.exclude, "groups": study.groups, "study": study}
    network, facilities = walled(args, study.network, compounds, study.facilities)  # issue 30: the compounds' walls
    return network, facilities, study.demand, study.boundaries, study.categories, extra


#: where and how, not what: no server path (message_lang: the language of the messages, issue 25)
_NOT_PARAMETERS = {"out", "force", "command", "cache_dir", "quiet", "message_lang"}
_INPUT_FILES = (
    "network",
    "facilities",
    "demand",
    "boundaries",
    "categories",
    "candidates",
    "exclude",
    "buildings",
    "walkable",  # issue 30
)
_INPUT_FILES += ("compounds", "gates")  # issue 30


def _provenance(args: argparse.Namespace) -> dict:
    """What produced this run: every option given (or defaulted), the input files with SHA-256, version, date.

    Call after ``_load``: the inputs it filled in from the sample are named too.
    """
    from geo.io import BUNDLED_BOUNDARIES
    from quarterhour.gis.export import provenance
    from quarterhour.provenance import yardstick_record

    inputs: dict[str, Path | str | None] = {}
    for role in _INPUT_FILES:
        value = getattr(args, role, None)
        if role == "boundaries" and isinstance(value, str) and value.lower() in BUNDLED_BOUNDARIES:
            value = BUNDLED_BOUNDARIES[value.lower()]
        inputs[role] = value
    if args.place or args.bbox:
        inputs["network"] = f"OpenStreetMap download: {args.place or args.bbox}"
    parameters = {
        k: (Path(str(v)).name if k in _INPUT_FILES and v is not None else v)
        for k, v in sorted(vars(args).items())
        if k not in _NOT_PARAMETERS and not callable(v)
    }
    parameters["group"] = [f"{g.column}={g.speed_kmh:g}" if g.speed_kmh else g.column for g in args.group]
    parameters["yardstick"] = yardstick_record(yardstick(args.standard, speed_kmh=args.speed_kmh), args.minutes)
    parameters.update(hours_record(args))  # issue 31: the time asked, as the planner reads it
    return provenance({"command": args.command, **parameters}, inputs)


def _steps(args: argparse.Namespace, *skip: str) -> Steps:
    """The command's progress on stderr: its steps, but those in ``skip``; none with ``--quiet``."""
    from analysis.defaults import STEPS
    from quarterhour.cli.progress import Steps

    return Steps([s for s in STEPS if s not in skip], quiet=args.quiet)


def _run(args: argparse.Namespace) -> int:
    skip = () if args.suggest else ("siting",)
    files = ("coverage.gpkg", *(HOURS_FILES if hours_asked(args) else ()))
    with claim(args.out, files=files, force=args.force), _steps(args, *skip) as step:
        result, out = _run_steps(args, step)
    print(f"{_covered_line(args, result)}; wrote {out}")
    _say_yardstick(result)
    return 0


def _covered_line(args: argparse.Namespace, result: CircleResult) -> str:
    """Residents covered, of how many, and within what: minutes at a speed, or a walking distance."""
    s = result.summary
    within = (
        f"{s.walk_m:,.0f} m {t(f'by_{args.mode}', 'en')}"
        if s.yardstick.by_distance
        else f"{s.minutes:g} min {t(f'by_{args.mode}', 'en')} at {s.speed_kmh:g} km/h"
    )
    return (
        f"covered {s.pop_covered:,.0f} of {s.pop_total:,.0f} residents ({s.pct_covered:.1f}%) within {within}"
        f"{hours_line(args, result)}"
    )


def _say_yardstick(result: CircleResult) -> None:
    """The yardstick and its numbers, then each population group's rate, one line each."""
    print(f"yardstick: {yardstick_text(result.summary.yardstick, result.summary.minutes, 'en')}")
    for rate in result.summary.groups:
        print(f"group: {group_text(rate, result.summary, 'en')}")


def _run_steps(args: argparse.Namespace, step: Steps) -> tuple[CircleResult, Path]:
    network, facilities, demand, boundaries, categories, extra = _load(args, step)
    from quarterhour.gis.export import write_layers  # issue 32: after the first step has started
    from quarterhour.gis.roadlayer import issues_layer

    result: CircleResult = run_hours(  # run_circle, or with --at/--when the facilities open then (issue 31)
        network,
        facilities,
        demand,
        args,
        categories,
        options=circle_options(args, categories, extra["groups"]),  # issue 25: the options as one value
        boundaries=boundaries,
        progress=step,
    )
    _reachable(result)
    _say_skipped(result)
    step("writing")
    out = args.out / "coverage.gpkg"
    kind = "facility" if args.isochrones == "none" else args.isochrones  # issue 32: none writes no such layer
    layers, kinds = result.layers(kind), {"isochrones": kind}
    if args.isochrones == "none":
        del layers["isochrones"]
    layers = {**layers, **issues_layer(network)}  # issue 30: a road layer's network_issues
    write_layers(layers, out, force=args.force, provenance=_provenance(args), kinds=kinds)
    write_hours_tables(args, result, boundaries)
    return result, out


def _reachable(result: CircleResult) -> None:
    """Stop when no facility is on the network: every figure would be 0, a result that looks real and is not."""
    s = result.summary
    if s.n_facilities and not s.n_facilities_used:
        none = next(n for n in result.skipped if getattr(n, "key", "") == "none_on_network")
        raise InputError("cli_none_on_network", said=none)  # the note, said in the messages' language


#: Notes said as a warning: the run goes on, but its figures mean little until the input is mended.
_WARNINGS = {"no_residents_on_network"}


def _say_skipped(result: CircleResult) -> None:
    """What the run left out, one ``note:`` line each; a ``warning:`` line for what makes every figure 0."""
    for line in result.skipped:
        _note(line, "warning" if getattr(line, "key", "") in _WARNINGS else "note")


def _site(args: argparse.Namespace) -> int:
    # held from before any work to the last file: refused now, not after the solver
    with claim(args.out, files=("sites.gpkg",), force=args.force), _steps(args, "isochrones", "coverage") as step:
        return _site_steps(args, args.out / "sites.gpkg", step)


def _site_steps(args: argparse.Namespace, out: Path, step: Steps) -> int:
    network, facilities, demand, boundaries, _, extra = _load(args, step)
    from analysis import columns as C  # issue 32: after the first step has started
    from analysis.coverage import nearest_facility
    from analysis.gaps import gap_zones
    from analysis.siting import candidate_sites, left_out, plan_sites, units_area  # only ``site`` chooses sites
    from geo.snapstore import kept_snap  # question-cold: the snaps kept in the store entry, as ``run``'s
    from quarterhour.gis.export import write_layers
    from quarterhour.gis.roadlayer import issues_layer
    from quarterhour.render.sitelines import site_lines

    closing = [c for c in args.close.split(",") if c.strip()]
    unknown = sorted(set(closing) - set(facilities.index))
    if unknown:
        raise InputError("cli_no_facility_with_id", column="facility_id", unknown=", ".join(unknown))
    staying = facilities.drop(index=closing)
    if staying.empty:
        raise InputError("cli_close_closes_all_facilities", facilities=len(facilities))
    step("travel_times")
    ys = yardstick(args.standard, speed_kmh=args.speed_kmh)
    cutoff, speed = ys.cutoff_min(args.minutes), ys.engine_kmh  # the engine's threshold and pace
    f_snap = kept_snap(staying, network, max_snap_m=args.max_snap_m)
    d_snap = kept_snap(demand, network, max_snap_m=args.max_snap_m)
    covered = nearest_facility(network, staying, demand, f_snap, d_snap, minutes=cutoff, speed_kmh=speed)
    covered = covered_then(args, network, staying, covered, d_snap, cutoff_min=cutoff, speed_kmh=speed)  # issue 31
    step("siting")
    within = gap_zones(covered) if args.in_gaps else units_area(boundaries)
    left = left_out(covered, d_snap, minutes=cutoff, speed_kmh=speed)
    candidates = candidate_sites(
        network,
        spacing_m=args.spacing_m,
        within=within,
        points=extra["candidates"],
        exclude=extra["exclude"],
        left=left,
    )
    result = plan_sites(
        network,
        covered,
        d_snap,
        model=args.model,
        k=args.k,
        target=args.target,
        minutes=cutoff,
        speed_kmh=speed,
        candidates=candidates,
        capacity=args.capacity,
        time_limit_s=args.time_limit,
        curve_k=args.curve,
        boundaries=boundaries,
    )
    for line in result.notes:
        _note(line)
    result = replace(result, sites=site_hours(args, result.sites))  # issue 31: the hours each site assumes
    step("writing")
    reach = result.isochrones
    if C.BAND_MIN in reach:  # drawn at the engine's cutoff, named by the circle
        reach = reach.assign(**{C.BAND_MIN: float(args.minutes)})
    layers = {"sites": result.sites, "curve": result.curve, "isochrones": reach, **issues_layer(network)}  # issue 30
    write_layers(
        {name: layer for name, layer in layers.items() if len(layer.columns)},
        out,
        force=args.force,
        provenance=_provenance(args),
        kinds={"isochrones": "new_sites"},  # the new sites' reach
    )
    sol = result.solution
    how = f"{sol.method}, {'optimal' if sol.optimal else f'gap {sol.gap:.1%}'}"
    within = f"{ys.walk_m(args.minutes):,.0f} m" if ys.by_distance else f"{args.minutes:g} min"
    print(
        f"residents covered within {within}: before {result.before:,.0f} of {result.total:,.0f} "
        f"({100 * result.before / result.total:.1f}%), after {result.after:,.0f} "
        f"({100 * result.after / result.total:.1f}%) with {len(result.sites)} new centres "
        f"[{args.model}, {len(candidates)} candidates, {how}]; wrote {out}"
    )
    for line in site_lines(result.sites, "en"):
        print(f"  {line}")
    if hours_asked(args):  # issue 31
        print(site_hours_line(args))
    print(f"yardstick: {yardstick_text(ys, args.minutes, 'en')}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from quarterhour.pack.report import check_out  # the pack's modules (matplotlib, the PDF) load only for ``report``

    if args.k < 0:
        raise InputError("cli_k_must_0_more", k=args.k)
    with claim(args.out, force=args.force, pack=True):  # held from before the slow work to the swap
        check_out(args.out, force=args.force)
        with _steps(args, "siting") as step:  # each unit's sites are chosen as its files are written
            return _report_steps(args, step)


def _report_steps(args: argparse.Namespace, step: Steps) -> int:
    from quarterhour.pack.report import PackOptions, write_pack

    network, facilities, demand, boundaries, categories, extra = _load(args, step)
    if args.level != "city" and (not boundaries or args.level not in boundaries):
        have = ", ".join(boundaries) if boundaries else "none"
        raise InputError("cli_boundaries_have_no_level", level=args.level, have=have)
    result = run_hours(  # run_circle, or with --at/--when the facilities open then (issue 31)
        network,
        facilities,
        demand,
        args,
        categories,
        # issue 25: the options as one value; the pack's sites are chosen per unit (write_pack), not for the city
        options=circle_options(args, categories, extra["groups"]).replace(isochrones=("facility",), n_sites=0),
        boundaries=boundaries,
        progress=step,
    )
    _reachable(result)
    _say_skipped(result)
    options = PackOptions(
        level=args.level,
        k=args.k,
        lang=args.lang,
        max_snap_m=args.max_snap_m,
        spacing_m=args.spacing_m,
        time_limit_s=args.time_limit,
    )
    step("writing")
    written = write_pack(result, network, options, out=args.out, provenance=_provenance(args), force=args.force)
    n_units = len({path.parent for path in written} - {args.out})  # the unit folders written
    print(
        f"{_covered_line(args, result)}; wrote the review pack "
        f"for {n_units} {args.level} units ({len(written)} files) to {args.out}"
    )
    _say_yardstick(result)
    return 0


def _network(args: argparse.Namespace) -> int:
    """Prepare a network into the store (or read it back) and say what it holds."""
    import shapely

    from geo.io import read_boundaries
    from geo.osm import walk_network_file
    from geo.store import cache_root, store_network
    from quarterhour.gis.roadlayer import road_options, road_text

    if args.place or args.bbox:
        if args.file:
            raise InputError("cli_give_network_file_place")
        path = walk_network_file(place=args.place, bbox=args.bbox, cache_dir=cache_root(args.cache_dir) / "networks")
    elif args.file is None:
        raise InputError("cli_give_network_file_place_2")
    else:
        path = args.file
    clip_to = None
    if args.clip:
        if not args.boundaries:
            raise InputError("cli_clip_needs_boundaries_2")
        top = next(iter(read_boundaries(args.boundaries).values())).to_crs(4326)
        clip_to = shapely.union_all(top.geometry.values)
    name = (args.place or f"bbox {args.bbox}") if (args.place or args.bbox) else None
    stored = store_network(
        path,
        name=name,
        clip_to=clip_to,
        consolidate_m=args.consolidate_m,
        cache_dir=args.cache_dir,
        roads=road_options(args),
    )
    for line in road_text(stored.network, Path(path).name, "en"):  # issue 30: a road layer's check
        print(f"note: {line}", file=sys.stderr)
    m = stored.manifest
    west, south, east, north = m["extent_lonlat"]
    print(
        f"{m['source']['name']}: {m['nodes']:,} nodes, {m['segments']:,} segments ({m['length_km']:,.1f} km), "
        f"{m['fragments']:,} fragments cut off from the main network ({m['fragment_nodes']:,} nodes); "
        f"CRS {m['crs']}\n"
        f"extent (lon/lat): west {west:.6f}, south {south:.6f}, east {east:.6f}, north {north:.6f}\n"
        f"{'prepared now and stored' if stored.built else 'read from the store'} "
        f"({m['bytes'] / 1e6:,.1f} MB): {stored.path}"
    )
    return 0


#: The language of the messages of this command (issue 25: ``--lang``, else the locale), set by ``main``.
_LANG = ["en"]


def _note(line: object, kind: str = "note") -> None:
    """One ``note:`` (or ``warning:``) line, said in the messages' language (a ``Note``; plain text as it is)."""
    print(f"{kind}: {line if _LANG[0] == 'en' else note_text(line, _LANG[0])}", file=sys.stderr)  # en: as before


def _warning_line(message: Warning | str, *_: object, **__: object) -> None:
    """A library's warning (GDAL: an unclosed ring; geopandas: a column left as text) as one line, with no path."""
    print(f"warning: {plain_text(message) if isinstance(message, Warning) else message}", file=sys.stderr)


def _text_arguments(args: argparse.Namespace) -> None:
    """Refuse a text option (a name, a comment) that is not UTF-8: a GBK terminal's bytes, which no database keeps.

    File paths are left alone: a file named in another encoding is still opened by its bytes.
    """
    for option, value in vars(args).items():
        if not isinstance(value, str) or os.path.exists(value):  # a file given as text (--units) is opened as is
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raw = value.encode("utf-8", "surrogateescape")
            try:
                guess = f": as GBK it reads '{raw.decode('gbk')}'"
            except UnicodeDecodeError:
                guess = ""
            raise InputError(
                "cli_option_replace_not_utf", option_replace="--" + option.replace("_", "-"), guess=guess
            ) from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``quarterhour`` console command.

    Parameters
    ----------
    argv
        The arguments after the command's name; None for ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 done, 2 bad input (one ``error:`` line), 1 a bug (one line too).
    """
    args = build_parser().parse_args(argv)
    _LANG[0] = cli_lang(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        commands = {"run": _run, "site": _site, "report": _report, "network": _network}
        commands |= {"scenarios": scenarios_command, "users": users_command, "batch": batch_command}
        commands |= {"login": login_command, "logout": logout_command, "audit": audit_command}
        commands["serve"] = serve_command  # issue 29
        _text_arguments(args)
        with warnings.catch_warnings():
            warnings.showwarning = _warning_line
            return commands[args.command](args)
    except InputError as exc:
        print(f"error: {error_words(exc, _LANG[0])}", file=sys.stderr)  # issue 25: --lang, or the locale
        return 2
    except Exception as exc:  # a bug, not bad input: one line, and a way to see more
        log.debug("internal error", exc_info=True)
        print(f"error: internal error, please report it: {type(exc).__name__}: {plain_text(exc)}", file=sys.stderr)
        return 1
    finally:
        _LANG[0] = "en"  # the messages' language is this command's: a caller's next step is not told in it


#: Commands that leave nothing running when ``main`` returns (no Dask cluster, no database): ``console`` ends
#: their process at once.
_ENDED_AT_ONCE = {"run", "site", "report", "network"}


def console() -> None:
    """The ``quarterhour`` command (and ``python -m quarterhour.cli``): ``main``, then the process's exit status.

    After ``run``, ``site``, ``report`` or ``network`` the process ends at once, its output flushed: the
    interpreter's teardown would free a city's half a million geometries one by one (about a second).
    """
    status = main()
    if sys.argv[1:2] and sys.argv[1] in _ENDED_AT_ONCE:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


if __name__ == "__main__":
    console()
