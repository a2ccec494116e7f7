"""OpenStreetMap tag rules shared by every reader of OSM data.

The walking filter mirrors osmnx's ``network_type="walk"`` Overpass filter, so
a network read from a local ``.osm``/``.osm.pbf`` file keeps the same ways that
``osmnx.graph_from_place(..., network_type="walk")`` would download.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from geo.errors import InputError, plain_text

if TYPE_CHECKING:  # networkx is imported where a graph is read, not by every command
    import networkx as nx

__all__ = [
    "DEFAULT_CACHE",
    "MAX_BOX_KM2",
    "box_km2",
    "check_box",
    "download_walk_network",
    "is_walkable_way",
    "walk_graph_from_pbf",
    "walk_network_file",
]

#: Where downloaded networks are kept (GraphML), so a network is fetched once.
DEFAULT_CACHE = Path.home() / ".cache" / "quarterhour" / "networks"
#: A bigger download box is refused: Overpass would time out, and a city district is far smaller.
MAX_BOX_KM2 = 400

# osmnx 2.x, ``_overpass._get_network_filter("walk")``: each entry is a tag and a
# regular expression that must NOT match its value (Overpass ``!~``).
_WALK_EXCLUDE: dict[str, re.Pattern[str]] = {
    "area": re.compile("yes"),
    "access": re.compile("private"),
    "highway": re.compile(
        "abandoned|bus_guideway|construction|cycleway|motor|no|planned|"
        "platform|proposed|raceway|razed|rest_area|services"
    ),
    "foot": re.compile("no"),
    "service": re.compile("private"),
    "sidewalk": re.compile("separate"),
    "sidewalk:both": re.compile("separate"),
    "sidewalk:left": re.compile("separate"),
    "sidewalk:right": re.compile("separate"),
}


def is_walkable_way(tags: Mapping[str, str]) -> bool:
    """Return True if an OSM way with these tags belongs to the walking network.

    Examples
    --------
    >>> is_walkable_way({"highway": "footway"})
    True
    >>> is_walkable_way({"highway": "motorway"})
    False
    >>> is_walkable_way({"highway": "residential", "foot": "no"})
    False
    """
    if "highway" not in tags:
        return False
    return not any(key in tags and pattern.search(tags[key]) for key, pattern in _WALK_EXCLUDE.items())


def walk_graph_from_pbf(path: str | Path, *, workdir: str | Path | None = None) -> nx.MultiDiGraph:
    """The walking network of an ``.osm.pbf`` extract as an osmnx graph (two-way, simplified, largest part).

    Read with pyosmium (``osmium``): the libosmium binding the OSM community
    maintains, streaming and small, where pyrosm would bring a larger stack.
    Ways pass ``is_walkable_way``; ways cut by the extract's edge are dropped.
    The result is deterministic: list attributes merged by simplification are sorted.

    Parameters
    ----------
    path
        An ``.osm.pbf`` extract.
    workdir
        Where the temporary OSM XML is written; ``None`` uses the system's temporary directory.

    Returns
    -------
    networkx.MultiDiGraph
        In WGS-84, unprojected (``geo.prepare_network`` projects it).
    """
    import osmium  # a core dependency; imported here so that reading GraphML does not need it
    import osmnx as ox  # imported when used: it costs most of a command's start-up (sklearn, matplotlib)

    path = Path(path)
    ways: list[tuple[int, list[int], dict[str, str]]] = []
    try:
        for way in osmium.FileProcessor(str(path), osmium.osm.WAY):
            tags = dict(way.tags)
            if is_walkable_way(tags):
                ways.append((way.id, [n.ref for n in way.nodes], tags))
        needed = {ref for _, refs, _ in ways for ref in refs}
        nodes = {
            n.id: (n.location.lat, n.location.lon)
            for n in osmium.FileProcessor(str(path), osmium.osm.NODE)
            if n.id in needed
        }
    except RuntimeError as exc:
        raise InputError("osm_cannot_read_osm_extract", file=path.name, exc=plain_text(exc)) from exc
    ways = [w for w in ways if all(ref in nodes for ref in w[1])]
    if not ways:
        raise InputError("osm_extract_has_no_walkable", file=path.name)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        xml = Path(tmp) / "walk.osm"
        with xml.open("w", encoding="utf-8") as f:
            f.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n')
            for nid in sorted(nodes):
                lat, lon = nodes[nid]
                f.write(f'<node id="{nid}" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
            for wid, refs, tags in sorted(ways):
                f.write(f'<way id="{wid}">')
                f.writelines(f'<nd ref="{r}"/>' for r in refs)
                f.writelines(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in sorted(tags.items()))
                f.write("</way>\n")
            f.write("</osm>\n")
        graph = ox.graph_from_xml(xml, bidirectional=True, simplify=True, retain_all=False)
    for _, _, data in graph.edges(data=True):  # simplification merges tags through sets
        for key, value in data.items():
            if isinstance(value, list):
                data[key] = sorted(value, key=str)
    graph.graph.pop("created_date", None)  # the same extract gives the same bytes
    return graph


def box_km2(bbox: tuple[float, float, float, float]) -> float:
    """The area of a (west, south, east, north) box in degrees, in km² (near enough to judge a download).

    Parameters
    ----------
    bbox
        West, south, east, north in WGS-84 degrees.

    Returns
    -------
    float
        The box's area in square kilometres (a degree of longitude shrinks with the cosine of the latitude).

    Examples
    --------
    >>> round(box_km2((7.41, 43.73, 7.44, 43.75)), 1)
    5.3
    """
    west, south, east, north = bbox
    return (east - west) * 111.32 * math.cos(math.radians((south + north) / 2)) * (north - south) * 110.57


def check_box(bbox: tuple[float, float, float, float]) -> None:
    """Refuse a download box over ``MAX_BOX_KM2``, saying its size, the limit and what to do instead.

    Raises
    ------
    InputError
        The box is too large to download (Overpass would time out; a city district is far smaller).
    """
    if (km2 := box_km2(bbox)) > MAX_BOX_KM2:
        raise InputError("osm_box_about_km2_0f", km2=km2, max_box_km2=MAX_BOX_KM2)


def download_walk_network(
    *,
    place: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    cache_dir: str | Path = DEFAULT_CACHE,
) -> nx.MultiDiGraph:
    """Download the walking network from OpenStreetMap by place name or (west, south, east, north) box.

    As ``walk_network_file``, read as an osmnx graph.

    Parameters
    ----------
    place
        A place name Nominatim knows (e.g. "Luoyang, Henan, China"); give this or ``bbox``.
    bbox
        (west, south, east, north) in WGS-84 degrees, at most ``MAX_BOX_KM2`` km².
    cache_dir
        The folder of cached GraphML files.

    Returns
    -------
    networkx.MultiDiGraph
        The osmnx walking graph, unprojected.
    """
    import osmnx as ox  # imported when used: it costs most of a command's start-up (sklearn, matplotlib)

    return ox.load_graphml(walk_network_file(place=place, bbox=bbox, cache_dir=cache_dir))


def walk_network_file(
    *,
    place: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    cache_dir: str | Path = DEFAULT_CACHE,
) -> Path:
    """The walking network of a place or (west, south, east, north) box, downloaded once, as a GraphML file.

    Kept in ``cache_dir`` as GraphML, named after the query: the second time it
    is read from disk, online or not. Offline, or where Overpass is blocked, the
    error says so and how to bring a network in instead. A box over
    ``MAX_BOX_KM2`` is refused before anything is downloaded.

    Parameters
    ----------
    place
        A place name Nominatim knows (e.g. "Luoyang, Henan, China"); give this or ``bbox``.
    bbox
        (west, south, east, north) in WGS-84 degrees, at most ``MAX_BOX_KM2`` km².
    cache_dir
        The folder of cached GraphML files.

    Returns
    -------
    Path
        The cached GraphML file of the osmnx walking graph, unprojected.

    Raises
    ------
    InputError
        Neither or both of ``place`` and ``bbox``, a box too large, or no network to be had.
    """
    import osmnx as ox  # imported when used: it costs most of a command's start-up (sklearn, matplotlib)
    import requests  # lazy: a run without a download does not pay for it (issue 32)

    if (place is None) == (bbox is None):
        raise InputError("osm_give_place_name_bounding")
    if bbox is not None:
        check_box(bbox)
    query = f"walk|place={place}" if place is not None else "walk|bbox=" + ",".join(f"{v:.6f}" for v in bbox)
    cached = Path(cache_dir) / f"{hashlib.sha1(query.encode()).hexdigest()[:16]}.graphml"
    if cached.is_file():
        return cached
    try:
        # A quick look first: offline, osmnx would wait out its rate-limit pause (60 s) before failing.
        requests.head(ox.settings.overpass_url, timeout=5)
        if place is not None:
            graph = ox.graph_from_place(place, network_type="walk")
        else:
            graph = ox.graph_from_bbox(bbox, network_type="walk")
    except (requests.exceptions.RequestException, ConnectionError) as exc:
        raise InputError("osm_cannot_reach_openstreetmap_download", name=type(exc).__name__) from exc
    except (ValueError, TypeError, ox._errors.InsufficientResponseError) as exc:
        raise InputError(
            "osm_openstreetmap_returned_no_walking", query_split_1=query.split("|")[1], exc=plain_text(exc)
        ) from exc
    cached.parent.mkdir(parents=True, exist_ok=True)
    part = cached.with_suffix(f".{os.getpid()}.part")
    ox.save_graphml(graph, part)
    part.replace(cached)  # whole or not at all: the store keys on these bytes
    return cached
