"""One way in (issue 25 item 1): ``load_study(spec) -> Study``, the inputs of a run read, checked and prepared.

Every face reads its inputs here: the command line (``quarterhour run|site|report``), the app
(``quarterhour.ui.compute.load_points``), batch (``quarterhour.batch.run.prepare_batch``) and the review pack; so
every source works in every face: a population raster or a table of units' residents in the app
and in batch as on the command line, a download or a prepared network of the store on the
command line as in the app.

The order is the command line's: every input file is read and checked before the network is read
or downloaded (fail fast); then the network (through the network store, ``geo.store``); then the
points' coordinate systems are settled against the streets (``auto``: each reading judged by how
close it falls to them), a raster read around the streets, a table of units matched to the
review units, and the residents made into points (``analysis.demand.prepare_demand``).

What the reading did is said in typed values, not in ``gdf.attrs``: ``Study.notes`` (``geo.notes.Note``
and ``CoordinateNote``, each said in either language), ``Study.choices`` (how each file's coordinates
were read), ``Study.how`` (how the residents were made into points).

Examples
--------
>>> study = load_study(StudySpec(boundaries="sample"))
>>> len(study.facilities), float(study.demand["pop"].sum()), list(study.boundaries)
(20, 38367.0, ['city', 'district', 'subdistrict', 'community'])
>>> [name for name, _ in study.choices]
['facilities.geojson', 'demand.geojson']
>>> from analysis import run_circle
>>> run_circle(study, study.options(n_sites=0)).summary.pop_total
38367.0
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from analysis.demand import prepare_demand
from analysis.groups import Group, find_groups
from analysis.options import CircleOptions, categories_options
from geo import read_boundaries, read_categories, read_demand, read_facilities, sample_paths
from geo._validate import existing
from geo.chinacrs import CrsChoice, points_to_wgs84, settle_coordinate_system
from geo.errors import InputError
from geo.graphml import MAX_GRAPHML_MB
from geo.gridtable import as_cells
from geo.io import MAX_INPUT_MB, read_polygons
from geo.network import NETWORK_SUFFIXES, StreetNetwork
from geo.notes import Note
from geo.raster import RasterHeader, is_raster, open_raster, read_window
from geo.roads import ROAD_SUFFIXES, RoadOptions, road_notes
from geo.snap import DEFAULT_MAX_SNAP_M
from geo.snapstore import kept_snap
from geo.tables import is_table
from geo.unittable import match_units

__all__ = ["SAMPLE", "CoordinateNote", "Study", "StudySpec", "categories_options", "load_study"]

#: The bundled sample, wherever a source can be a file.
SAMPLE = "sample"


@dataclass(frozen=True)
class StudySpec:
    """Where a study's inputs come from, and how to read them.

    Attributes
    ----------
    network
        ``sample``; a network file (``.osm.pbf``, ``.osm``, ``.graphml``); ``osm:<place>`` or
        ``bbox:<west>,<south>,<east>,<north>`` (downloaded once, then from the cache); ``store:<folder>``
        (a prepared network of the store); or a ``StreetNetwork`` already prepared.
    facilities
        ``sample`` or a file of facility points (GeoJSON, GeoPackage, Shapefile, CSV/XLSX of lon/lat).
    demand
        ``sample``, resident points, areas or cells with ``pop``, building footprints, a table of
        lon/lat and population, a table of units' residents (matched to ``boundaries``) or a
        population GeoTIFF (read around the streets).
    boundaries
        The review units: ``sample``, a bundled set (``luoyang``) or a file; ``None``: none.
    categories
        The categories' table (minutes, capacity, speed per category); ``None``: GB 50180-2018's.
    candidates, exclude, buildings
        Candidate sites, exclusion areas, building footprints; ``None``: none.
    facilities_crs, demand_crs
        How the points' lon/lat are read: ``auto`` (judged against the streets), ``wgs84``, ``gcj02``,
        ``bd09``; the residents also ``EPSG:<code>`` for a table's x/y in metres.
    demand_total
        Residents to scale the residents to; ``None`` keeps the file's.
    groups
        Population groups the planner named (columns of the residents, each at its own speed).
    max_snap_m
        Points farther than this from any street are off the network (the residents' spreading).
    clip
        Keep only the streets inside the top level of ``boundaries``.
    consolidate_m
        Merge street corners closer than this (``geo.store``); ``None``: the store's default.
    cache_dir
        The network store's folder; ``None``: the default.
    spread
        Areas and cells of residents spread ``streets`` (along the streets inside them) or ``grid``
        (over a 100 m grid: a region's batch).
    snap
        Place the residents on the streets now (``Study.demand_snap``), for a run to reuse.
    """

    network: str | Path | StreetNetwork = SAMPLE
    facilities: str | Path = SAMPLE
    demand: str | Path = SAMPLE
    boundaries: str | Path | None = None
    categories: str | Path | None = None
    candidates: str | Path | None = None
    exclude: str | Path | None = None
    buildings: str | Path | None = None
    facilities_crs: str = "auto"
    demand_crs: str = "auto"
    demand_total: float | None = None
    groups: tuple[Group, ...] = ()
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    clip: bool = False
    consolidate_m: float | None = None
    cache_dir: str | Path | None = None
    roads: RoadOptions | None = None  #: issue 30: how a road layer given as the network is read
    spread: str = "streets"
    snap: bool = False


@dataclass(frozen=True)
class CoordinateNote:
    """How a file's coordinates were read, and why (``render.readnotes.coordinate_note``); ``str``: English."""

    file: str  #: the file's name, as the planner knows it
    choice: CrsChoice  #: what ``geo.chinacrs.settle_coordinate_system`` did

    def text(self, lang: str = "zh") -> str:
        """The note in ``lang`` (``zh`` or ``en``)."""
        from quarterhour.render.readnotes import coordinate_note

        return coordinate_note(self.file, self.choice, lang)

    def __str__(self) -> str:
        """The note in English."""
        return self.text("en")


@dataclass
class Study:
    """A run's inputs, read, checked and in the network's CRS: what ``load_study`` returns.

    ``run_circle(study, options)`` runs on it; ``Study.options`` folds the categories' table and
    the residents' population groups into a run's options.
    """

    spec: StudySpec  #: what was asked
    network: StreetNetwork  #: the prepared street network (metric CRS)
    facilities: gpd.GeoDataFrame  #: facility points
    demand: gpd.GeoDataFrame  #: resident points with ``pop``
    boundaries: dict[str, gpd.GeoDataFrame] | None  #: review units by level (``city``, ``district``, ...)
    categories: pd.DataFrame | None  #: the categories' table as read (``geo.read_categories``)
    candidates: gpd.GeoDataFrame | None  #: candidate sites
    exclude: gpd.GeoDataFrame | None  #: exclusion areas
    groups: tuple[Group, ...]  #: the population groups found (``analysis.groups.find_groups``)
    how: Note  #: how the residents were made into points (``str``: English)
    notes: list[Note | CoordinateNote | str] = field(default_factory=list)  #: what reading the points did, in order
    boundary_notes: list[Note | str] = field(default_factory=list)  #: what reading the review units did
    choices: tuple[tuple[str, CrsChoice], ...] = ()  #: (file name, how its coordinates were read)
    demand_snap: pd.DataFrame | None = None  #: the residents on the streets (``StudySpec.snap``)
    stored: Any = None  #: the network store's entry (``geo.store.StoredNetwork``); None for a network given

    def options(self, options: CircleOptions | None = None, **changes: Any) -> CircleOptions:
        """The run's options: ``options`` with the categories' table and the population groups folded in.

        Parameters
        ----------
        options
            The options asked (``None``: the defaults).
        **changes
            Further fields of ``CircleOptions``.

        Returns
        -------
        CircleOptions
            With ``category_minutes``, ``category_capacity``, ``category_speed`` from the table and
            ``groups`` as found in the residents.
        """
        return CircleOptions.of(options, **{**categories_options(self.categories), "groups": self.groups, **changes})


def load_study(spec: StudySpec | None = None, *, progress: Callable[[str], None] | None = None) -> Study:
    """Read, check and prepare a run's inputs, whatever their sources.

    Parameters
    ----------
    spec
        Where the inputs come from (``None``: the bundled sample).
    progress
        Told ``reading`` and ``preparing`` as each starts (``analysis.pipeline.STEPS``).

    Returns
    -------
    Study
        The inputs in the network's CRS, and what reading them did.

    Raises
    ------
    InputError
        An input is missing, unreadable or wrong; every file is checked before the network is read.

    Examples
    --------
    >>> study = load_study()
    >>> study.network.crs.to_epsg(), len(study.demand), study.boundaries is None
    (32632, 976, True)
    """
    spec = spec or StudySpec()
    step = progress or (lambda _: None)
    step("reading")
    got = _read_inputs(spec)
    stored = _read_network(spec, got["boundaries"], step)
    network = stored.network if stored is not None else spec.network
    notes: list[Note | CoordinateNote | str] = []
    report = network.derived.get("road_report")
    if report and not isinstance(spec.network, StreetNetwork):  # issue 30: a road layer's check, first (a face
        notes += road_notes(report, Path(str(spec.network)).name)  # that passes a network says it itself)
    choices = []
    facilities, choice = _settle(spec, got["facilities"], network, "facilities", notes)
    choices.append((_name(spec.facilities, "facilities"), choice))
    candidates = got["candidates"]
    if candidates is not None and spec.facilities_crs == "auto" and choice.system != "wgs84":
        candidates = points_to_wgs84(candidates, choice.system)  # candidates are read as the facilities were
    buildings = got["buildings"].to_crs(network.crs) if got["buildings"] is not None else None
    residents, choice = _residents(spec, got, network, notes)
    choices.append((_name(spec.demand, "demand"), choice))
    spread = (
        {"network": network, "max_snap_m": spec.max_snap_m, "buildings": buildings}
        if spec.spread == "streets"
        else {"extent": network.nodes.total_bounds}
    )
    demand, how = prepare_demand(residents, total=spec.demand_total, **spread)
    boundaries_ll = got["boundaries"]
    boundary_notes = list(next(iter(boundaries_ll.values())).attrs.get("notes", [])) if boundaries_ll else []
    boundaries = {level: gdf.to_crs(network.crs) for level, gdf in boundaries_ll.items()} if boundaries_ll else None
    return Study(
        spec=spec,
        network=network,
        facilities=facilities.to_crs(network.crs),
        demand=demand,
        boundaries=boundaries,
        categories=got["categories"],
        candidates=candidates.to_crs(network.crs) if candidates is not None else None,
        exclude=got["exclude"].to_crs(network.crs) if got["exclude"] is not None else None,
        groups=find_groups(demand, spec.groups),
        how=how,
        notes=notes,
        boundary_notes=boundary_notes,
        choices=tuple(choices),
        demand_snap=kept_snap(demand, network, max_snap_m=spec.max_snap_m) if spec.snap else None,  # issue 32
        stored=stored,
    )


def _path(source: str | Path | None, role: str) -> Path | str | None:
    """A source as a path: ``sample`` is the bundled sample's file of ``role``."""
    if source is None:
        return None
    return sample_paths()[role] if str(source) == SAMPLE else source


def _name(source: str | Path, role: str) -> str:
    """The file's name, as the planner knows it."""
    return Path(_path(source, role)).name


def _as_read(requested: str) -> str:
    """The system a reader applies: ``auto`` reads lon/lat as WGS-84 and judges them once the network is there."""
    return "wgs84" if requested == "auto" else requested


def check_network_file(path: str | Path) -> Path:
    """The network file exists, is not too large and is of a format read (before the slow read).

    Parameters
    ----------
    path
        The network file.

    Returns
    -------
    pathlib.Path
        The path, checked.
    """
    graphml = Path(path).suffix.lower() == ".graphml"  # streamed: memory follows the network, not the file
    path = existing(path, "network", max_mb=MAX_GRAPHML_MB if graphml else MAX_INPUT_MB)
    if path.suffix.lower() not in (*NETWORK_SUFFIXES, *ROAD_SUFFIXES):  # issue 30: or a road layer
        raise InputError("study_network_format", file=path.name, suffix=path.suffix)
    return path


def _is_file_source(network: object) -> bool:
    """A network source that is a file (not the sample, a download, the store's, or a network)."""
    return not isinstance(network, StreetNetwork) and not str(network).startswith(("osm:", "bbox:", "store:", SAMPLE))


def _read_inputs(spec: StudySpec) -> dict:
    """Read and check every input file but the network: fail fast, before the network is read or downloaded."""
    if _is_file_source(spec.network):
        check_network_file(spec.network)
    crs = _as_read(spec.facilities_crs)
    boundaries = _path(spec.boundaries, "boundaries")
    got: dict = {"facilities": read_facilities(_path(spec.facilities, "facilities"), crs=crs)}
    demand = _path(spec.demand, "demand")
    got["demand"] = open_raster(demand) if is_raster(demand) else read_demand(demand, crs=_as_read(spec.demand_crs))
    got["boundaries"] = read_boundaries(boundaries) if boundaries else None
    if not isinstance(got["demand"], gpd.GeoDataFrame | RasterHeader) and not got["boundaries"]:
        raise InputError("study_residents_need_boundaries", file=Path(demand).name)
    if spec.clip and not got["boundaries"]:
        raise InputError("study_clip_needs_boundaries")
    got["categories"] = read_categories(spec.categories) if spec.categories else None
    got["candidates"] = read_facilities(spec.candidates, crs=crs, what="candidates") if spec.candidates else None
    got["exclude"] = read_polygons(spec.exclude, what="exclusion areas") if spec.exclude else None
    got["buildings"] = read_polygons(spec.buildings, what="building footprints") if spec.buildings else None
    return got


def _read_network(spec: StudySpec, boundaries_ll: dict | None, step: Callable[[str], None]) -> Any:
    """The network's store entry (read, downloaded and prepared the first time: ``geo.store``); None if given."""
    from geo.store import cache_root, load_entry, store_network

    source = spec.network
    if isinstance(source, StreetNetwork):
        return None
    text = str(source)
    if text.startswith("store:"):
        step("preparing")
        return load_entry(text[len("store:") :])
    clip_to = None
    if spec.clip:
        top = next(iter(boundaries_ll.values())).to_crs(4326)
        clip_to = shapely.union_all(top.geometry.values)
    name = None
    if text.startswith(("osm:", "bbox:")):
        from geo.osm import walk_network_file  # issue 32: the downloads' module, for a download only

        downloads = cache_root(spec.cache_dir) / "networks"
        if text.startswith("osm:"):
            source, name = walk_network_file(place=text[4:], cache_dir=downloads), text[4:]
        else:
            box = _box(text[5:])
            source, name = walk_network_file(bbox=box, cache_dir=downloads), f"bbox {box}"
    step("preparing")
    path = sample_paths()["network"] if text == SAMPLE else source
    return store_network(
        path,
        name=name,
        clip_to=clip_to,
        consolidate_m=spec.consolidate_m,
        cache_dir=spec.cache_dir,
        roads=spec.roads,  # issue 30: a road layer's options are part of its store key
    )


def _box(text: str) -> tuple[float, float, float, float]:
    """``west,south,east,north`` as four numbers."""
    west, south, east, north = (float(v) for v in text.split(","))
    return west, south, east, north


def _settle(
    spec: StudySpec, gdf: gpd.GeoDataFrame, network: StreetNetwork, role: str, notes: list
) -> tuple[gpd.GeoDataFrame, CrsChoice]:
    """Points of ``role`` with their coordinate system applied (``auto``: judged against the streets); noted."""
    path, requested = _path(getattr(spec, role), role), getattr(spec, f"{role}_crs")
    notes.extend(gdf.attrs.get("notes", []))
    lattice = gdf.attrs.get("lattice")
    gdf, choice = settle_coordinate_system(
        gdf, network, requested, declared=not is_table(path), file=Path(path).name, role=role
    )
    notes.append(CoordinateNote(Path(path).name, choice))
    gdf.attrs["lattice"] = lattice
    return gdf, choice


def _residents(spec: StudySpec, got: dict, network: StreetNetwork, notes: list) -> tuple[gpd.GeoDataFrame, CrsChoice]:
    """The residents in the network's CRS: a raster's window around the streets, units matched, or as read."""
    source = got["demand"]
    if isinstance(source, gpd.GeoDataFrame):
        settled, choice = _settle(spec, source, network, "demand", notes)
        return as_cells(settled, settled.attrs.get("lattice")).to_crs(network.crs), choice
    if isinstance(source, RasterHeader):
        layer = read_window(source, tuple(network.nodes.total_bounds), network.crs.to_wkt())
        layer_notes: Sequence = layer.attrs.get("notes", [])
    else:
        layer, matched = match_units(source, got["boundaries"])
        layer_notes = [*source.attrs.get("notes", []), *matched]
    notes.extend(layer_notes)
    return layer.to_crs(network.crs), CrsChoice("wgs84", "declared")
