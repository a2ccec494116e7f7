"""quarterhour (一刻钟) — the planner's workspace: who lives within a 15-minute walk of a service point.

Run with ``streamlit run app.py``; with no upload it opens on the bundled sample.

Every cache below is keyed by plain values (file paths named by their content,
numbers, tuples), and what it returns is never changed afterwards: planners
sharing one server share results, never each other's uploads or scenarios
(those live in ``st.session_state``).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import streamlit as st
from streamlit_folium import st_folium

from analysis import columns as C
from analysis.demand import prepare_demand
from analysis.gaps import CELL_M
from analysis.isochrones import facility_isochrones
from analysis.pipeline import ISOCHRONE_KINDS, CircleResult, run_circle
from analysis.scenario import ScenarioResult, compare, evaluate
from analysis.siting import MODELS, SiteResult, candidate_sites, plan_sites
from analysis.traveltime import MODE_SPEEDS_KMH
from geo import (
    CATEGORIES,
    LEVELS,
    InputError,
    StreetNetwork,
    prepare_network,
    read_boundaries,
    read_demand,
    read_facilities,
    read_network,
    sample_paths,
    snap_points,
)
from geo.io import CATEGORY_MINUTES
from geo.osm import download_walk_network
from geo.scenario import read_scenario, scenario_geojson
from quarterhour.export import LAYER_FORMATS, TABLE_FORMATS, gpkg_bytes, layer_bytes, provenance, table_bytes
from quarterhour.i18n import LANGS, both, t
from quarterhour.report import build_pack
from quarterhour.webmap import MapData, draw_map, map_data, scenario_layer

log = logging.getLogger("quarterhour.app")
GAP_CELL_M = CELL_M
UPLOAD_LIMIT_MB = 100  # per file, as server.maxUploadSize in .streamlit/config.toml
SNAP_CLICK_M = 100  # a click this close to a facility picks it (to move or close it)
#: Choices keep one label in both languages: Streamlit keys a choice by its label, and a label
#: that changed with the language would lose the planner's choice.
MODEL_NAMES = {"mclp": "最大覆盖 MCLP", "lscp": "集合覆盖 LSCP", "pmedian": "p 中值 p-median"}
MODE_NAMES = {"walk": "步行 walk", "bike": "自行车 bike", "ebike": "电动车 e-bike"}
SPEED_RANGES = {"walk": (2.0, 6.0), "bike": (8.0, 25.0), "ebike": (10.0, 30.0)}
CLICK_NAMES = {
    "browse": "浏览 browse",
    "add": "新增 add",
    "move": "迁移 move",
    "close": "关闭 close",
    "box": "框选下载范围 download box",
}
MAX_BOX_KM2 = 400  # a bigger box is refused: Overpass would time out, and a city district is far smaller
BASEMAP_NAMES = {"none": "路网（离线）streets (offline)", "osm": "OpenStreetMap", "tianditu": "天地图 Tianditu"}
BANDS = (5.0, 10.0, 15.0, 20.0)
SMALL_NETWORK_NODES = 20_000  # above: no catchment split, no automatic site (each takes many seconds)
SAMPLE = "sample"


# ---------------------------------------------------------------- data (cached, keyed by value)
@st.cache_resource(show_spinner=False, max_entries=8)
def load_network(source: str) -> StreetNetwork:
    """``sample``, ``osm:<place>`` (downloaded once, then from the disk cache) or a network file's path."""
    if source == SAMPLE:
        path = sample_paths()["network"]
        return prepare_network(read_network(path), source=path.name)
    if source.startswith("osm:"):
        return prepare_network(download_walk_network(place=source[4:]), source=source[4:])
    if source.startswith("bbox:"):
        west, south, east, north = (float(v) for v in source[5:].split(","))
        return prepare_network(download_walk_network(bbox=(west, south, east, north)), source=source)
    return prepare_network(read_network(source), source=Path(source).name)


@st.cache_resource(show_spinner=False, max_entries=8)
def load_points(
    network_src: str, facilities_src: str, facilities_crs: str, demand_src: str, demand_total: float | None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame, tuple[str, ...]]:
    """Facilities, residents (and their places on the streets) in the network's CRS, and what was done."""
    network = load_network(network_src)
    fac_path = sample_paths()["facilities"] if facilities_src == SAMPLE else facilities_src
    facilities = read_facilities(fac_path, crs=facilities_crs)
    notes = [f"{Path(fac_path).name}: {len(facilities)} facilities", *facilities.attrs.get("notes", [])]
    dem_path = sample_paths()["demand"] if demand_src == SAMPLE else demand_src
    demand, how = prepare_demand(read_demand(dem_path).to_crs(network.crs), total=demand_total)
    notes.append(
        f"{Path(dem_path).name}: {len(demand):,} resident points, {demand[C.POP].sum():,.0f} residents ({how})"
    )
    facilities = facilities.to_crs(network.crs)
    return facilities, demand, snap_points(demand, network), tuple(notes)


@st.cache_resource(show_spinner=False, max_entries=8)
def load_boundaries(network_src: str, source: str) -> dict[str, gpd.GeoDataFrame]:
    """Review units: the sample's, a bundled set ("luoyang"), or an uploaded file's path."""
    network = load_network(network_src)
    path = sample_paths()["boundaries"] if source == SAMPLE else source
    return {level: gdf.to_crs(network.crs) for level, gdf in read_boundaries(path).items()}


@st.cache_resource(show_spinner=False, max_entries=32)
def compute(data: tuple, units: str, params: tuple) -> CircleResult:
    """One analysis run; cached on every input, so only what changed is recomputed."""
    minutes, speed_kmh, categories, cat_minutes, bands = params
    network = load_network(data[0])
    facilities, demand, _, _ = load_points(*data)
    chosen = facilities[facilities["category"].isin(categories)]
    small = len(network.nodes) <= SMALL_NETWORK_NODES
    return run_circle(
        network,
        chosen,
        demand,
        minutes=minutes,
        bands=[b for b in bands if b != minutes],
        category_minutes=dict(cat_minutes),
        boundaries=load_boundaries(data[0], units),
        speed_kmh=speed_kmh,
        gap_cell_m=GAP_CELL_M,
        isochrones=ISOCHRONE_KINDS if small else ("facility", "merged"),
        n_sites=1 if small else 0,  # a whole city's sites come from the siting panel, when asked for
    )


@st.cache_resource(show_spinner=False, max_entries=16)
def siting(data: tuple, units: str, params: tuple, candidates: str | None, plan: tuple) -> SiteResult:
    """A siting model on the current coverage: the planner's candidates or a 200 m grid, curve to 10."""
    model, k, target = plan
    minutes, speed_kmh = params[0], params[1]
    network = load_network(data[0])
    result = compute(data, units, params)
    points = read_facilities(candidates, what="candidates").to_crs(network.crs) if candidates else None
    return plan_sites(
        network,
        result.demand,
        load_points(*data)[2],
        model=model,
        k=k,
        target=target,
        minutes=minutes,
        speed_kmh=speed_kmh,
        candidates=candidate_sites(network, points=points) if points is not None else None,
        spacing_m=200,
        curve_k=10,
        time_limit_s=20,
        boundaries=load_boundaries(data[0], units),
    )


@st.cache_resource(show_spinner=False, max_entries=16)
def base_map(data: tuple, units: str, params: tuple, lang: str, plan: tuple | None, candidates: str | None) -> MapData:
    """The map's layers as data (drawn afresh on every run in a few milliseconds)."""
    network = load_network(data[0])
    planned = siting(data, units, params, candidates, plan) if plan else None
    return map_data(
        compute(data, units, params),
        network,
        lang=lang,
        gap_cell_m=GAP_CELL_M,
        sites=planned.sites if planned else None,
        site_reach=planned.isochrones if planned else None,
    )


@st.cache_data(show_spinner=False, max_entries=64)
def scenario(
    data: tuple, units: str, params: tuple, changes: tuple
) -> tuple[ScenarioResult, dict, dict, gpd.GeoDataFrame]:
    """Coverage with the planner's changes, what it changes, and the reach of the new and moved centres."""
    minutes, speed_kmh, categories = params[0], params[1], params[2]
    network = load_network(data[0])
    facilities, demand, d_snap, _ = load_points(*data)
    chosen = facilities[facilities["category"].isin(categories)]
    result = compute(data, units, params)
    after = evaluate(
        network,
        chosen,
        demand,
        d_snap,
        changes_frame(changes),
        minutes=minutes,
        speed_kmh=speed_kmh,
        boundaries=load_boundaries(data[0], units),
        gap_cell_m=GAP_CELL_M,
    )
    figures, tables = compare(result.demand, result.gaps, result.levels, after)
    moved = after.facilities[after.facilities["change"] != ""]
    reach = (
        facility_isochrones(network, moved, snap_points(moved, network), minutes=[minutes], speed_kmh=speed_kmh)
        if len(moved)
        else gpd.GeoDataFrame(geometry=[], crs=network.crs)
    )
    return after, figures, tables, reach


@st.cache_data(show_spinner=False, max_entries=16)
def scenario_gpkg(data: tuple, units: str, params: tuple, changes: tuple) -> bytes:
    """The scenario's result as a GeoPackage: the changes, facilities, residents, levels and gaps after them."""
    after, _, tables, reach = scenario(data, units, params, changes)
    layers = {
        "changes": changes_frame(changes),
        "facilities": after.facilities,
        "demand": after.demand,
        **{f"coverage_{level}": table for level, table in after.levels.items()},
        **{f"compare_{level}": table for level, table in tables.items()},
        "gaps": after.gaps,
        "reach": reach,
    }
    prov = app_provenance(data, units, params)
    prov["parameters"]["scenario_changes"] = len(changes)
    return gpkg_bytes({name: layer for name, layer in layers.items() if len(layer.columns)}, provenance=prov)


def changes_frame(changes: tuple) -> gpd.GeoDataFrame:
    """The session's changes (tuples: action, facility_id, name, category, lon, lat) as WGS-84 points."""
    rows = [dict(zip(("action", C.FACILITY_ID, "name", "category", "lon", "lat"), c, strict=True)) for c in changes]
    frame = pd.DataFrame(rows, columns=["action", C.FACILITY_ID, "name", "category", "lon", "lat"])
    return gpd.GeoDataFrame(
        frame.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs=4326
    )


def app_provenance(data: tuple, units: str, params: tuple) -> dict:
    """What produced the numbers on screen: the parameters and the input files (with their SHA-256)."""
    minutes, speed_kmh, categories, cat_minutes, bands = params
    paths = sample_paths()
    inputs = {
        "network": paths["network"] if data[0] == SAMPLE else data[0],
        "facilities": paths["facilities"] if data[1] == SAMPLE else data[1],
        "demand": paths["demand"] if data[3] == SAMPLE else data[3],
        "boundaries": paths["boundaries"] if units == SAMPLE else units,
    }
    parameters = {
        "face": "app",
        "minutes": minutes,
        "speed_kmh": speed_kmh,
        "categories": list(categories),
        "category_minutes": dict(cat_minutes),
        "bands": list(bands),
        "facilities_crs": data[2],
        "demand_total": data[4],
    }
    return provenance(parameters, inputs)


@st.cache_data(show_spinner=False, max_entries=16)
def layer_file(data: tuple, units: str, params: tuple, name: str, fmt: str) -> bytes:
    """One layer (or, for ``all``, every layer in one GeoPackage) as a file, with provenance."""
    layers = compute(data, units, params).layers()
    prov = app_provenance(data, units, params)
    if name == "all":
        return gpkg_bytes(layers, provenance=prov)
    return layer_bytes(layers[name], name, fmt, provenance=prov)


@st.cache_data(show_spinner=False, max_entries=16)
def table_file(data: tuple, units: str, params: tuple, name: str, fmt: str) -> bytes:
    """One table as CSV or XLSX; names that look like formulas are made inert (``export.safe_table``)."""
    return table_bytes(tables_of(compute(data, units, params))[name], fmt)


def tables_of(result: CircleResult) -> dict[str, pd.DataFrame]:
    """The tables a planner takes away: coverage per level, ranked gaps, suggested sites, facilities."""
    tables = {f"coverage_{level}": table for level, table in result.levels.items()}
    tables["gaps"] = result.gaps
    tables["sites"] = result.sites
    tables["facilities"] = result.facilities
    return {name: pd.DataFrame(table.drop(columns="geometry")) for name, table in tables.items()}


# ---------------------------------------------------------------- small helpers
@contextmanager
def step(lang: str) -> Iterator[None]:
    """One part of the page: its failure is shown where it happened, and the rest of the page still works."""
    try:
        yield
    except InputError as exc:
        st.error(str(exc))
    except Exception as exc:  # a bug: say so plainly, keep the traceback in the server log
        log.exception("a step of the app failed")
        st.error(f"{t('bug', lang)} {type(exc).__name__}: {exc}")


def save_upload(upload: st.runtime.uploaded_file_manager.UploadedFile, lang: str) -> str | None:
    """Keep an upload on disk, named by its content (so caches key on it and planners never collide)."""
    data = upload.getvalue()
    if len(data) > UPLOAD_LIMIT_MB * 1024 * 1024:
        st.error(t("too_big", lang, name=upload.name, mb=len(data) / 1024 / 1024, limit=UPLOAD_LIMIT_MB))
        return None
    # A folder per content, the planner's own file name inside: messages name the file they know.
    name = Path(upload.name).name.replace("\\", "_") or "upload"
    folder = Path(tempfile.gettempdir()) / "quarterhour-uploads" / hashlib.sha256(data).hexdigest()[:20]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        tmp = folder / f".{name}.{uuid.uuid4().hex}.part"  # two sessions may upload the same file at once
        tmp.write_bytes(data)
        tmp.replace(path)
    return str(path)


def source_ui(label: str, key: str, types: list[str], lang: str) -> str:
    """Sample or upload for one input; returns ``sample`` or the saved file's path."""
    upload = st.file_uploader(label, type=types, key=key)
    if upload is None:
        return SAMPLE
    return save_upload(upload, lang) or SAMPLE


# ---------------------------------------------------------------- sidebar
def data_ui(lang: str) -> dict:
    """Data panel: the sample by default; the planner's own network, facilities, residents, units, candidates."""
    with st.expander(t("data", lang), expanded=False):
        st.caption(t("data_help", lang))
        how = st.radio(
            t("network", lang),
            ["sample", "file", "osm"],
            key="network_how",
            format_func=lambda c: both(f"network_{c}"),
        )
        network = SAMPLE
        if how == "file":
            upload = st.file_uploader(t("network_file", lang), type=["graphml", "osm", "pbf"], key="network_file")
            network = (save_upload(upload, lang) or SAMPLE) if upload else SAMPLE
        elif how == "osm":
            place = st.text_input(t("osm_place", lang), key="osm_place", placeholder="涧西区, 洛阳市, 河南省, 中国")
            if st.button(t("osm_download", lang), key="osm_download") and place.strip():
                bar = st.progress(0.1, text=t("osm_progress", lang, place=place))
                with step(lang):
                    load_network(f"osm:{place.strip()}")
                    bar.progress(1.0, text=t("osm_done", lang))
                    st.session_state["osm_loaded"] = place.strip()
                    st.session_state["osm_box_loaded"] = None
            box = st.session_state.get("osm_bbox")
            st.caption(
                t("osm_box_help", lang) if not box else t("osm_box", lang, box=", ".join(f"{v:.4f}" for v in box))
            )
            if box and st.button(t("osm_download_box", lang), key="osm_download_box"):
                bar = st.progress(0.1, text=t("osm_progress", lang, place=t("the_box", lang)))
                with step(lang):
                    load_network("bbox:" + ",".join(f"{v:.6f}" for v in box))
                    bar.progress(1.0, text=t("osm_done", lang))
                    st.session_state["osm_loaded"] = None
                    st.session_state["osm_box_loaded"] = box
            if st.session_state.get("osm_loaded"):
                network = f"osm:{st.session_state['osm_loaded']}"
            elif st.session_state.get("osm_box_loaded"):
                network = "bbox:" + ",".join(f"{v:.6f}" for v in st.session_state["osm_box_loaded"])
        types = ["csv", "xlsx", "geojson", "json", "gpkg", "zip"]
        facilities = source_ui(t("facilities_file", lang), "facilities_file", types, lang)
        crs = st.selectbox(
            t("facilities_crs", lang),
            ["wgs84", "gcj02", "bd09"],
            key="facilities_crs",
            format_func=lambda c: both(f"crs_{c}"),
        )
        demand = source_ui(t("demand_file", lang), "demand_file", types, lang)
        total = st.number_input(t("demand_total", lang), min_value=0, value=0, step=1000, key="demand_total")
        candidates = st.file_uploader(t("candidates_file", lang), type=types, key="candidates_file")
        units = units_ui(lang)
    if network != SAMPLE and SAMPLE in (facilities, demand):
        st.warning(t("own_network_needs_points", lang))
    return {
        "data": (network, facilities, crs, demand, float(total) or None),
        "units": units,
        "candidates": (save_upload(candidates, lang) if candidates else None),
    }


def units_ui(lang: str) -> str:
    """Which review units: the sample's, Luoyang's bundled city and districts, or the planner's own file."""
    choice = st.radio(
        t("units", lang), ["sample", "luoyang", "upload"], key="units", format_func=lambda c: both(f"units_{c}")
    )
    if choice != "upload":
        return choice
    upload = st.file_uploader(t("units_file", lang), type=["geojson", "gpkg", "zip"], key="units_file")
    return (save_upload(upload, lang) or SAMPLE) if upload else SAMPLE


def params_ui(lang: str) -> dict:
    st.header(t("settings", lang))
    mode = st.radio(t("mode", lang), list(MODE_NAMES), format_func=MODE_NAMES.get, horizontal=True, key="mode")
    low, high = SPEED_RANGES[mode]
    speed = st.slider(
        t("speed", lang), low, high, MODE_SPEEDS_KMH[mode], 0.1 if mode == "walk" else 0.5, key=f"speed_{mode}"
    )
    minutes = st.select_slider(t("threshold", lang), options=[5, 10, 15, 20, 30], value=15, key="minutes")
    bands = st.multiselect(t("bands", lang), BANDS, default=[5.0, 10.0], key="bands", format_func=lambda b: f"{b:g}′")
    cats = st.multiselect(
        t("categories_used", lang),
        list(CATEGORIES),
        default=list(CATEGORIES),
        format_func=lambda c: f"{CATEGORIES[c][0]} {CATEGORIES[c][1]}",  # the same in both languages
        key="categories",
    )
    with st.expander(t("category_minutes", lang)):
        cat_minutes = tuple(
            (
                c,
                float(
                    st.number_input(
                        f"{CATEGORIES[c][0]} {CATEGORIES[c][1]}", 1, 60, int(CATEGORY_MINUTES[c]), key=f"min_{c}"
                    )
                ),
            )
            for c in CATEGORIES
        )
    return {
        "params": (float(minutes), float(speed), tuple(cats), cat_minutes, tuple(sorted(bands))),
        "mode": mode,
    }


def basemap_ui(lang: str) -> tuple[str, str]:
    basemap = st.radio(t("basemap", lang), list(BASEMAP_NAMES), format_func=BASEMAP_NAMES.get, key="basemap")
    key = ""
    if basemap == "tianditu":
        key = st.text_input(t("tianditu_key", lang), type="password", key="tianditu_key")
        if not key:
            st.caption(t("tianditu_needs_key", lang))
    return basemap, key


# ---------------------------------------------------------------- main area
def headline_ui(result: CircleResult, notes: tuple[str, ...], lang: str) -> None:
    s = result.summary
    a, b, c, d = st.columns([3, 2, 2, 2])
    a.metric(t("covered_headline", lang, minutes=s["minutes"]), f"{s['pop_covered']:,.0f} / {s['pop_total']:,.0f}")
    b.metric(t("coverage_rate", lang), f"{s['pct_covered']:.1f}%")
    c.metric(t("uncovered", lang), f"{s['pop_uncovered']:,.0f}")
    d.metric(t("facilities", lang), f"{s['n_facilities_used']:.0f}")
    with st.expander(t("what_was_read", lang)):
        for line in notes:
            st.caption(line)
    for line in result.skipped:
        st.warning(f"{t('skipped', lang)}: {line}")


def take_click(facilities: gpd.GeoDataFrame, crs: object, lang: str) -> None:
    """Turn the map's last click into a change, once (the component keeps repeating its last value)."""
    clicked = (st.session_state.get("map") or {}).get("last_clicked")
    if not clicked or clicked == st.session_state.get("click_done"):
        return
    st.session_state["click_done"] = clicked
    mode = st.session_state.get("click_mode", "browse")
    lon, lat = float(clicked["lng"]), float(clicked["lat"])
    changes: list = st.session_state["changes"]
    if mode == "box":
        corner = st.session_state.pop("box_corner", None)
        if corner is None:
            st.session_state["box_corner"] = (lon, lat)
            st.session_state["click_note"] = t("box_second", lang)
            return
        west, east = sorted((corner[0], lon))
        south, north = sorted((corner[1], lat))
        km2 = (east - west) * 111.32 * np.cos(np.radians((south + north) / 2)) * (north - south) * 110.57
        if km2 > MAX_BOX_KM2:
            st.session_state["click_note"] = t("box_too_big", lang, km2=km2, limit=MAX_BOX_KM2)
            return
        st.session_state["osm_bbox"] = (west, south, east, north)
        st.session_state["click_note"] = t("box_set", lang, km2=km2)
        return
    if mode == "add":
        add_centre(lon, lat, st.session_state.get("new_category", "neighbourhood_centre"), lang)
    elif mode in ("move", "close"):
        here = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(crs).iloc[0]
        if mode == "move" and st.session_state.get("picked"):
            fid = st.session_state.pop("picked")
            changes.append(("move", fid, facilities.loc[fid, "name"], facilities.loc[fid, "category"], lon, lat))
            return
        dist = facilities.distance(here)
        if len(dist) == 0 or dist.min() > SNAP_CLICK_M:
            st.session_state["click_note"] = t("no_facility_near", lang, m=SNAP_CLICK_M)
            return
        fid = dist.idxmin()
        if mode == "close":
            changes.append(("close", fid, facilities.loc[fid, "name"], facilities.loc[fid, "category"], lon, lat))
        else:
            st.session_state["picked"] = fid
            st.session_state["click_note"] = t("now_click_target", lang, name=facilities.loc[fid, "name"])


def add_centre(lon: float, lat: float, category: str, lang: str) -> None:
    changes: list = st.session_state["changes"]
    n = sum(1 for c in changes if c[0] == "add") + 1
    changes.append(("add", None, t("new_centre_name", lang, n=n), category, lon, lat))


def scenario_ui(data: tuple, units: str, params: tuple, facilities: gpd.GeoDataFrame, lang: str):
    """The scenario panel beside the map: how clicks act, the changes, save/load, and the comparison."""
    st.subheader(t("scenario", lang))
    st.radio(t("click_mode", lang), list(CLICK_NAMES), format_func=CLICK_NAMES.get, horizontal=True, key="click_mode")
    st.selectbox(
        t("new_category", lang),
        list(CATEGORIES),
        index=list(CATEGORIES).index("neighbourhood_centre"),
        format_func=lambda c: f"{CATEGORIES[c][0]} {CATEGORIES[c][1]}",
        key="new_category",
    )
    st.caption(t(f"click_help_{st.session_state.get('click_mode', 'browse')}", lang))
    if note := st.session_state.pop("click_note", None):
        st.info(note)
    with st.form("add_by_coordinates", border=False):
        text = st.text_input(t("add_lonlat", lang), key="lonlat", placeholder="7.4206, 43.7372")
        if st.form_submit_button(t("add", lang)):
            try:
                lon, lat = (float(v) for v in text.replace("，", ",").split(","))
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise ValueError
            except ValueError:
                st.error(t("bad_lonlat", lang, text=text))
            else:
                add_centre(lon, lat, st.session_state.get("new_category", "neighbourhood_centre"), lang)
    changes: list = st.session_state["changes"]
    if changes:
        shown = pd.DataFrame(
            [(t(f"change_{c[0]}", lang), c[1] or "", c[2], c[4], c[5]) for c in changes],
            columns=[t("change", lang), "ID", t("name", lang), "lon", "lat"],
        )
        st.dataframe(shown.round(5), hide_index=True, width="stretch")
        a, b = st.columns(2)
        if a.button(t("undo", lang), key="undo"):
            changes.pop()
            st.rerun()
        if b.button(t("clear", lang), key="clear"):
            changes.clear()
            st.rerun()
    loaded = st.file_uploader(t("load_scenario", lang), type=["geojson", "json"], key="scenario_file")
    if loaded is not None:
        digest = hashlib.sha256(loaded.getvalue()).hexdigest()
        if digest != st.session_state.get("scenario_loaded"):
            with step(lang):
                path = save_upload(loaded, lang)
                if path:
                    frame = read_scenario(path)
                    st.session_state["changes"] = changes = [
                        (
                            r.action,
                            r.facility_id if isinstance(r.facility_id, str) and r.facility_id else None,
                            r.name if isinstance(r.name, str) else "",
                            r.category if isinstance(r.category, str) else "neighbourhood_centre",
                            r.geometry.x,
                            r.geometry.y,
                        )
                        for r in frame.itertuples()
                    ]
                    st.session_state["scenario_loaded"] = digest
                    st.success(t("scenario_loaded", lang, n=len(changes)))
    if not changes:
        return None
    started = time.perf_counter()
    after, figures, tables, reach = scenario(data, units, params, tuple(changes))
    st.session_state["scenario_s"] = time.perf_counter() - started
    st.download_button(
        t("save_scenario", lang),
        data=scenario_geojson(changes_frame(tuple(changes))),
        file_name="scenario.geojson",
        mime="application/geo+json",
        key="save_scenario",
    )
    compare_ui(figures, tables, lang)
    # Written when asked for, not on every click: a city's residents make it a second's work.
    if st.button(t("prepare_scenario", lang), key="prepare_scenario"):
        st.session_state["scenario_file_for"] = tuple(changes)
    if st.session_state.get("scenario_file_for") == tuple(changes):
        st.download_button(
            t("download_scenario", lang),
            data=scenario_gpkg(data, units, params, tuple(changes)),
            file_name="scenario_result.gpkg",
            mime="application/geopackage+sqlite3",
            key="download_scenario",
        )
    closed_ids = [c[1] for c in changes if c[0] == "close"]
    closed = facilities.loc[[i for i in closed_ids if i in facilities.index]]
    return scenario_layer(after.facilities, closed, reach, lang)


def compare_ui(figures: dict, tables: dict, lang: str) -> None:
    """Current state and scenario side by side."""
    st.markdown(f"**{t('compare', lang)}**")
    total = figures["pop_total"] or 1
    now, then = st.columns(2)
    now.metric(
        t("now", lang),
        f"{figures['pop_covered_before']:,.0f}",
        f"{100 * figures['pop_covered_before'] / total:.1f}%",
        delta_color="off",
    )
    then.metric(
        t("with_scenario", lang),
        f"{figures['pop_covered_after']:,.0f}",
        f"{figures['pop_net']:+,.0f}",
    )
    now.metric(t("gap_zones", lang), f"{figures['gaps_before']:.0f}")
    then.metric(
        t("gap_zones", lang) + " ",
        f"{figures['gaps_after']:.0f}",
        f"{figures['gaps_after'] - figures['gaps_before']:+.0f}",
        delta_color="inverse",
    )
    st.caption(
        t(
            "compare_line",
            lang,
            gained=figures["pop_gained"],
            lost=figures["pop_lost"],
            closed=figures["gaps_closed"],
        )
    )
    level = next((lv for lv in ("community", "subdistrict", "district") if lv in tables), None)
    if level:
        table = (
            tables[level]
            .head(8)
            .rename(
                columns={
                    "name": t("name", lang),
                    C.POP: t("residents", lang),
                    "pct_before": t("now", lang) + " %",
                    "pct_after": t("with_scenario", lang) + " %",
                    "pct_change": "Δ %",
                }
            )
        )
        st.dataframe(table.drop(columns="code").round(1), hide_index=True, width="stretch")


def map_ui(
    data: tuple, units: str, params: tuple, lang: str, plan: tuple | None, candidates: str | None, layer
) -> None:
    basemap, key = st.session_state.get("basemap_choice", ("none", ""))
    md = base_map(data, units, params, lang, plan, candidates)
    m = draw_map(md, basemap=basemap, tianditu_key=key)
    st_folium(
        m,
        key="map",
        height=620,
        use_container_width=True,
        returned_objects=["last_clicked"],
        feature_group_to_add=layer,
    )


def gaps_sites_ui(result: CircleResult, lang: str) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader(t("gap_table", lang))
        gaps = pd.DataFrame(result.gaps.drop(columns=["geometry", C.GAP_ID])).head(10)
        names = {
            C.RANK: t("rank", lang),
            C.POP_UNCOVERED: t("uncovered", lang),
            "n_points": t("n_points", lang),
            C.MINUTES: t("walk_minutes", lang),
            "n_cells": t("n_cells", lang),
            **{lv: (LEVELS[lv][1] if lang == "en" else LEVELS[lv][0]) for lv in LEVELS},
        }
        st.dataframe(gaps.rename(columns=names).round(1), hide_index=True, width="stretch")
        if len(result.gaps):
            st.bar_chart(result.gaps.head(10).set_index(C.GAP_ID)[C.POP_UNCOVERED].rename(t("uncovered", lang)))
    with right:
        st.subheader(t("site_table", lang))
        sites = pd.DataFrame(result.sites.drop(columns="geometry"))
        st.dataframe(
            sites.rename(columns={C.POP_NEW: t("new_covered", lang), C.MINUTES: t("walk_minutes", lang)}),
            hide_index=True,
            width="stretch",
        )


def levels_ui(result: CircleResult, lang: str) -> None:
    """Drill down 市 → 区 → 街道 → 社区: pick a unit, see the units inside it, least covered first."""
    st.subheader(t("by_level", lang))
    levels = list(result.levels)
    level = st.radio(
        t("level", lang),
        levels,
        index=min(1, len(levels) - 1),
        horizontal=True,
        format_func=lambda lv: f"{LEVELS[lv][0]} {LEVELS[lv][1]}",
        key="level",
    )
    table = result.levels[level]
    above = levels[levels.index(level) - 1] if levels.index(level) > 0 else None
    if above and len(result.levels[above]) > 1:
        parents = result.levels[above]
        choice = st.selectbox(
            t("within", lang, level=LEVELS[above][0 if lang == "zh" else 1]),
            ["*", *parents["code"]],
            format_func=lambda c: "全部 all" if c == "*" else f"{c} {parents.set_index('code').loc[c, 'name']}",
            key=f"within_{level}",
        )
        if choice != "*":
            parent = parents.set_index("code").loc[choice, "geometry"]
            table = table[table.representative_point().within(parent)]
    table = pd.DataFrame(table.drop(columns="geometry")).sort_values(C.PCT_COVERED)
    names = {
        "name": t("name", lang),
        C.POP: t("residents", lang),
        C.POP_COVERED: t("covered_residents", lang),
        C.POP_UNCOVERED: t("uncovered", lang),
        C.PCT_COVERED: t("coverage_rate", lang) + " %",
        C.N_FACILITIES: t("facilities", lang),
        C.STATUS: t("status", lang),
        "communities_full": t("communities_full", lang),
        "communities_partly": t("communities_partly", lang),
        "communities_none": t("communities_none", lang),
    }
    for code, (zh, en) in CATEGORIES.items():
        names[C.pct_covered_by(code)] = f"{en if lang == 'en' else zh} %"
    shown = table[[c for c in names if c in table]].rename(columns=names)
    st.dataframe(shown.round(1), hide_index=True, width="stretch")
    if len(table) > 1:
        st.bar_chart(table.set_index("name")[C.PCT_COVERED].rename(t("coverage_rate", lang) + " %"), horizontal=True)


@st.cache_data(show_spinner=False, max_entries=8)
def review_pack(data: tuple, units: str, params: tuple, level: str, code: str, lang: str) -> bytes:
    """One unit's review pack (GeoPackage, map PNG, XLSX, HTML, PDF) as a zip: the run is reused, not redone."""
    return build_pack(
        compute(data, units, params),
        load_network(data[0]),
        level=level,
        code=code,
        provenance=app_provenance(data, units, params),
        lang=lang,
    )


def pack_ui(data: tuple, units: str, params: tuple, result: CircleResult, lang: str) -> None:
    """The review pack for the unit on screen, as ``quarterhour report`` writes it."""
    st.subheader(t("pack", lang))
    level = st.session_state.get("level", "district")
    if level not in result.levels:
        level = next(iter(result.levels))
    table = result.levels[level]
    names = dict(zip(table["code"], table["name"], strict=True))
    code = st.selectbox(t("pack_unit", lang), list(names), format_func=lambda c: f"{c} {names[c]}", key=f"pack_{level}")
    st.caption(t("pack_help", lang))
    if st.button(t("pack_make", lang), key="pack_make"):
        st.session_state["pack"] = (level, code)
    if st.session_state.get("pack") == (level, code):
        with st.spinner(t("computing", lang)):
            data_zip = review_pack(data, units, params, level, code, lang)
        st.download_button(
            t("pack_download", lang, name=names[code]),
            data=data_zip,
            file_name=f"review_{level}_{code}.zip",
            mime="application/zip",
            key="pack_download",
        )


def siting_ui(lang: str) -> tuple | None:
    """The siting panel's inputs; the model runs when the planner asks (it can take seconds)."""
    st.subheader(t("siting", lang))
    a, b, c = st.columns(3)
    model = a.selectbox(t("model", lang), MODELS, index=MODELS.index("mclp"), key="model", format_func=MODEL_NAMES.get)
    a.caption(t(f"model_{model}", lang))
    k = b.number_input(t("new_centres", lang), min_value=1, max_value=20, value=3, key="k")
    target = c.slider(t("target", lang), min_value=0.5, max_value=1.0, value=0.95, step=0.01, key="target")
    if st.button(t("run_siting", lang), key="run_siting"):
        st.session_state["plan"] = (model, int(k), float(target))
    return st.session_state.get("plan")


def siting_results_ui(result: SiteResult, lang: str) -> None:
    s = result.solution
    a, b, c = st.columns(3)
    a.metric(t("before", lang), f"{result.before:,.0f} ({100 * result.before / result.total:.1f}%)")
    b.metric(
        t("after", lang),
        f"{result.after:,.0f} ({100 * result.after / result.total:.1f}%)",
        f"+{result.after - result.before:,.0f}",
    )
    c.metric(t("solver", lang), s.method + (" ✓" if s.optimal else f" gap {s.gap:.1%}"))
    table = pd.DataFrame(result.sites.drop(columns="geometry"))
    names = {C.POP_NEW: t("new_covered", lang), C.MINUTES: t("walk_minutes", lang)}
    st.dataframe(table.rename(columns=names).round(1), hide_index=True, width="stretch")
    if len(result.curve):
        st.caption(t("curve", lang))
        st.line_chart(result.curve.set_index("k")[["pct_covered"]].rename(columns={"pct_covered": "%"}))
    if len(result.sites) and st.button(t("sites_to_scenario", lang), key="sites_to_scenario"):
        lonlat = result.sites.to_crs(4326).geometry
        for p in lonlat:
            add_centre(p.x, p.y, "neighbourhood_centre", lang)
        st.rerun()
    for line in result.notes:
        st.info(line)


FORMAT_NAMES = {
    "gpkg": "GeoPackage",
    "geojson": "GeoJSON",
    "shp": "Shapefile (zip)",
    "csv": "CSV",
    "xlsx": "Excel XLSX",
}
MIME = {
    "gpkg": "application/geopackage+sqlite3",
    "geojson": "application/geo+json",
    "shp": "application/zip",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def downloads_ui(data: tuple, units: str, params: tuple, result: CircleResult, lang: str) -> None:
    """Every layer as GeoPackage, GeoJSON or zipped Shapefile; every table as CSV or XLSX; provenance inside."""
    minutes = params[0]
    st.download_button(
        t("download_gpkg", lang),
        data=layer_file(data, units, params, "all", "gpkg"),
        file_name=f"coverage_{minutes:g}min.gpkg",
        mime=MIME["gpkg"],
        key="download_all",
    )
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('one_layer', lang)}**")
        layers = list(result.layers())
        name = st.selectbox(t("layer", lang), layers, key="dl_layer")
        fmt = st.radio(t("format", lang), LAYER_FORMATS, format_func=FORMAT_NAMES.get, horizontal=True, key="dl_fmt")
        suffix = {"gpkg": "gpkg", "geojson": "geojson", "shp": "zip"}[fmt]
        st.download_button(
            t("download", lang),
            data=layer_file(data, units, params, name, fmt),
            file_name=f"{name}_{minutes:g}min.{suffix}",
            mime=MIME[fmt],
            key="download_layer",
        )
    with right:
        st.markdown(f"**{t('one_table', lang)}**")
        tables = list(tables_of(result))
        name = st.selectbox(t("table", lang), tables, key="dl_table")
        fmt = st.radio(t("format", lang), TABLE_FORMATS, format_func=FORMAT_NAMES.get, horizontal=True, key="dl_tfmt")
        st.download_button(
            t("download", lang),
            data=table_file(data, units, params, name, fmt),
            file_name=f"{name}_{minutes:g}min.{fmt}",
            mime=MIME[fmt],
            key="download_table",
        )
    st.caption(t("provenance_note", lang))


def analyse(data: tuple, units: str, params: tuple, lang: str) -> tuple:
    """Read the inputs and run the analysis (cached): (network, facilities, notes, result)."""
    with st.spinner(t("computing", lang)):
        network = load_network(data[0])
        facilities, _, _, notes = load_points(*data)
        source = sample_paths()["network"].name if data[0] == SAMPLE else Path(data[0].split(":", 1)[-1]).name
        fragments = int((network.nodes["component"] > 0).sum())
        notes = (
            t("network_read", lang, source=source, nodes=network.n_nodes, edges=len(network.edges), frag=fragments),
            *notes,
        )
        return network, facilities, notes, compute(data, units, params)


def main() -> None:
    st.set_page_config(page_title="一刻钟 quarterhour", page_icon="🗺️", layout="wide")
    started = time.perf_counter()
    with st.sidebar:
        lang = st.radio(t("language"), list(LANGS), format_func=LANGS.get, horizontal=True, key="lang")
        chosen = data_ui(lang)
        opts = params_ui(lang)
        st.session_state["basemap_choice"] = basemap_ui(lang)
        st.caption(t("data_source", lang))
    st.title(t("title", lang))
    st.caption(t("subtitle", lang))
    data, units, params = chosen["data"], chosen["units"], opts["params"]
    if not params[2]:
        st.info(t("no_facilities", lang))
        return
    if st.session_state.get("changes_for") != data:  # a scenario belongs to the facilities it was made on
        if st.session_state.get("changes"):
            st.toast(t("scenario_reset", lang))
        st.session_state["changes"], st.session_state["changes_for"] = [], data
    try:
        network, facilities, notes, result = analyse(data, units, params, lang)
    except InputError as exc:  # keep working on the last data that worked, and say which file failed and why
        st.error(str(exc))
        last = st.session_state.get("last_good")
        if last is None or last == (data, units):
            return
        st.info(t("kept_previous", lang))
        data, units = last
        network, facilities, notes, result = analyse(data, units, params, lang)
    except Exception as exc:  # a bug: say so plainly, keep the traceback in the server log
        log.exception("analysis failed")
        st.error(f"{t('bug', lang)} {type(exc).__name__}: {exc}")
        return
    st.session_state["last_good"] = (data, units)
    headline_ui(result, notes, lang)
    chosen_facilities = facilities[facilities["category"].isin(params[2])]
    take_click(chosen_facilities, network.crs, lang)
    map_col, side = st.columns([5, 2])
    layer = None
    with side, step(lang):
        layer = scenario_ui(data, units, params, chosen_facilities, lang)
    plan = st.session_state.get("plan")
    with map_col, step(lang):
        map_ui(data, units, params, lang, plan, chosen["candidates"], layer)
        took = time.perf_counter() - started
        st.caption(t("timing", lang, s=took, scenario=st.session_state.get("scenario_s", 0.0)))
    tabs = st.tabs([t("tab_gaps", lang), t("tab_levels", lang), t("tab_siting", lang), t("tab_downloads", lang)])
    with tabs[0], step(lang):
        gaps_sites_ui(result, lang)
    with tabs[1], step(lang):
        levels_ui(result, lang)
    with tabs[1], step(lang):
        pack_ui(data, units, params, result, lang)
    with tabs[2], step(lang):
        plan = siting_ui(lang)
        if plan:
            try:
                with st.spinner(t("computing", lang)):
                    siting_results_ui(siting(data, units, params, chosen["candidates"], plan), lang)
            except InputError as exc:  # e.g. a target no candidate set can reach: it says how far
                st.error(str(exc))
                st.session_state.pop("plan", None)
    with tabs[3], step(lang):
        downloads_ui(data, units, params, result, lang)


if __name__ == "__main__":
    main()
