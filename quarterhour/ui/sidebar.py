"""The sidebar: data sources (sample, uploads, OpenStreetMap), parameters, basemap."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence

import geopandas as gpd
import streamlit as st

from analysis.groups import OLDER_KMH
from analysis.traveltime import MODE_SPEEDS_KMH
from analysis.yardstick import STANDARDS
from geo import read_demand, read_facilities, sample_paths
from geo.errors import InputError
from geo.raster import is_raster
from geo.store import list_networks
from geo.tables import is_table
from geo.vocab import CATEGORIES, CATEGORY_MINUTES, MODES
from quarterhour.i18n import both, category_both, error_words, t
from quarterhour.ui import state as S
from quarterhour.ui.compute import load_network
from quarterhour.ui.errors import step
from quarterhour.ui.hours import time_ui
from quarterhour.ui.plain import plain, said
from quarterhour.ui.project import forget_kept, kept_source
from quarterhour.ui.roads import ROAD_TYPES, road_crs_ui
from quarterhour.ui.scope import visible_networks
from quarterhour.ui.uploads import charge_session, planner_names, remember_name, store_upload
from quarterhour.ui.values import SAMPLE, STORE, Inputs, Params, Sources
from quarterhour.ui.walls import walls_crs_ui

__all__ = ["basemap_ui", "data_ui", "params_ui", "save_upload", "source_ui", "units_ui", "uploader_words_ui"]

UPLOAD_LIMIT_MB = 100  # per file, as server.maxUploadSize in .streamlit/config.toml
SPEED_RANGES = {"walk": (2.0, 6.0), "bike": (8.0, 25.0), "ebike": (10.0, 30.0)}
BANDS = (5.0, 10.0, 15.0, 20.0)
CIRCLES = (5, 10, 15)  #: the life circles GB 50180 gives a distance (``analysis.yardstick.GB50180_M``)
BASEMAPS = ("none", "osm", "tianditu")
_POINT_TYPES = ["csv", "xlsx", "geojson", "json", "gpkg", "zip"]
_WALL_TYPES = ["geojson", "json", "gpkg", "zip", "osm", "pbf"]  # issue 30: compounds and gates
_RASTER_TYPES = ["tif", "tiff"]  # a population GeoTIFF (WorldPop, LandScan), read around the streets (geo.raster)
_CRS = ["auto", "wgs84", "gcj02", "bd09"]  # auto first: judged against the streets


def uploader_words_ui(lang: str) -> None:
    """The file uploaders' own words ("Upload", "100MB per file", "Drag and drop") in the planner's language.

    Streamlit offers no parameter for them: the page's style hides its words and shows ours in their place.
    """
    words = {
        "button": t("upload_button", lang),
        "drop": t("upload_drop", lang),
        "limit": t("upload_limit", lang, mb=UPLOAD_LIMIT_MB),
    }
    css = {k: json.dumps(v, ensure_ascii=False).replace("<", "\\3c ") for k, v in words.items()}  # CSS strings
    zone = '[data-testid="stFileUploaderDropzone"]'
    says = f'{zone} [data-testid="stFileUploaderDropzoneInstructions"] > div > span'
    st.html(
        "<style>"
        f'{zone} button [data-testid="stMarkdownContainer"] p {{font-size: 0}}'
        f'{zone} button [data-testid="stMarkdownContainer"] p::after {{content: {css["button"]}; font-size: 0.875rem}}'
        f"{says} {{font-size: 0}}"
        f"{says}:last-child::after {{content: {css['limit']}; font-size: 0.75rem}}"
        f"{says}:first-child:not(:last-child)::after {{content: {css['drop']}; font-size: 0.875rem}}"
        "</style>"
    )


def save_upload(upload: st.runtime.uploaded_file_manager.UploadedFile, lang: str) -> str | None:
    """Keep an upload on the server, named by its content (``ui.uploads``); None, said why, if it cannot be kept."""
    data = upload.getvalue()
    if len(data) > UPLOAD_LIMIT_MB * 1024 * 1024:
        st.error(said("too_big", lang, name=upload.name, mb=len(data) / 1024 / 1024, limit=UPLOAD_LIMIT_MB))
        return None
    try:
        if refused := charge_session(upload.name, data, lang):  # the session's quota of uploads
            st.error(refused)
            return None
        path = store_upload(upload.name, data)
    except InputError as exc:  # a name with path parts ('..')
        st.error(plain(error_words(exc, lang)))  # issue 25: in the planner's language
        return None
    remember_name(path, upload.name)  # messages name the file the planner knows
    return str(path)


def source_ui(label: str, key: str, types: list[str], lang: str) -> str:
    """Sample or upload for one input; returns ``sample`` or the saved file's path."""
    upload = st.file_uploader(label, type=types, key=key)
    if upload is None:
        return kept_source(key, lang) or SAMPLE  # the project's file, kept in the workspace (ui.project)
    forget_kept(key)
    return save_upload(upload, lang) or SAMPLE


def _box_source(box: tuple[float, ...]) -> str:
    return "bbox:" + ",".join(f"{v:.6f}" for v in box)


def _osm_ui(lang: str) -> str:
    """Download a place's or the drawn box's walking network; returns the network source last downloaded."""
    place = st.text_input(t("osm_place", lang), key=S.OSM_PLACE, placeholder="涧西区, 洛阳市, 河南省, 中国")
    if st.button(t("osm_download", lang), key=S.OSM_DOWNLOAD) and place.strip():
        bar = st.progress(0.1, text=t("osm_progress", lang, place=place))
        with step(lang):
            load_network(f"osm:{place.strip()}")
            bar.progress(1.0, text=t("osm_done", lang))
            st.session_state[S.OSM_LOADED] = place.strip()
            st.session_state[S.OSM_BOX_LOADED] = None
    box = st.session_state.get(S.OSM_BBOX)
    st.caption(t("osm_box_help", lang) if not box else t("osm_box", lang, box=", ".join(f"{v:.4f}" for v in box)))
    if box and st.button(t("osm_download_box", lang), key=S.OSM_DOWNLOAD_BOX):
        bar = st.progress(0.1, text=t("osm_progress", lang, place=t("the_box", lang)))
        with step(lang):
            load_network(_box_source(box))
            bar.progress(1.0, text=t("osm_done", lang))
            st.session_state[S.OSM_LOADED] = None
            st.session_state[S.OSM_BOX_LOADED] = box
    if st.session_state.get(S.OSM_LOADED):
        return f"osm:{st.session_state[S.OSM_LOADED]}"
    if st.session_state.get(S.OSM_BOX_LOADED):
        return _box_source(st.session_state[S.OSM_BOX_LOADED])
    return SAMPLE


def _store_ui(lang: str) -> str:
    """Choose a prepared network from the store (a city too big to upload); returns its source."""
    try:
        entries = visible_networks(list_networks(), st.session_state.get(S.ACTOR))  # a planner: their units' only
    except InputError as exc:  # the store's key cannot be read or made (geo.store.store_secret)
        st.error(plain(error_words(exc, lang)))  # issue 25: in the planner's language
        return SAMPLE
    if not entries:
        st.caption(t("store_empty", lang))
        return SAMPLE
    labels = {  # the same words in both languages: a label that changed with the language would lose the choice
        STORE + e["path"]: t(
            "store_entry_both",
            lang,
            name=e["source"]["name"],
            nodes=e["nodes"],
            mb=e["bytes"] / 1e6,
            west=e["extent_lonlat"][0],
            south=e["extent_lonlat"][1],
            east=e["extent_lonlat"][2],
            north=e["extent_lonlat"][3],
        )
        for e in entries
    }
    return st.selectbox(
        t("store_pick", lang),
        list(labels),
        key=S.NETWORK_STORE,
        format_func=labels.get,
        placeholder=t("choose_one", lang),
    )


def _uploaded_lonlat(lang: str) -> list[tuple[float, float]]:
    """The lon/lat of the uploaded facilities (else residents points), as read.

    The coordinates are read as WGS-84 whatever was chosen: a GCJ-02 or BD-09 offset (some hundred metres)
    does not move a point out of a city's extent. A file that cannot be read gives no points (the run says why).
    """
    uploads = [st.session_state.get(k) for k in (S.FACILITIES_FILE, S.DEMAND_FILE)]
    for upload, read in zip(uploads, (read_facilities, read_demand), strict=True):
        if upload is None:
            continue
        path = save_upload(upload, lang)
        if path is None or is_raster(path):
            continue
        try:
            points = read(path, crs="wgs84")
        except InputError:
            continue
        if isinstance(points, gpd.GeoDataFrame) and len(points):
            lonlat = points.to_crs(4326).geometry
            return list(zip(lonlat.x, lonlat.y, strict=True))
    return []


def _choose_network_for_uploads(lang: str) -> None:
    """With newly uploaded points, choose the prepared network whose extent holds most of them (else the newest).

    Done once for each new set of uploads, before the network choice is drawn, and only while the network is
    still the sample or a prepared one (a network file or an OpenStreetMap download is the planner's own word).
    What was chosen and why is said in the sidebar while the choice stands (``network_note_ui``).
    """
    if not any(st.session_state.get(k) is not None for k in (S.FACILITIES_FILE, S.DEMAND_FILE)):
        st.session_state.pop(S.NETWORK_AUTO_FOR, None)
        st.session_state.pop(S.NETWORK_AUTO_NOTE, None)  # said of uploads no longer there
        return
    how = st.session_state.get(S.NETWORK_HOW, "sample")
    ids = tuple(
        getattr(st.session_state.get(k), "file_id", "")
        for k in (S.FACILITIES_FILE, S.DEMAND_FILE)
        if st.session_state.get(k) is not None
    )
    if how not in ("sample", "store") or st.session_state.get(S.NETWORK_AUTO_FOR) == ids:
        return
    st.session_state[S.NETWORK_AUTO_FOR] = ids
    sample = str(sample_paths()["network"].resolve())
    entries = [e for e in list_networks() if e.get("source", {}).get("path") != sample]  # the planner's networks
    if not entries:
        return
    lonlat = _uploaded_lonlat(lang)
    if not lonlat:
        return
    margin = 0.02  # degrees (about 2 km): a point just beyond the last street still belongs to the city

    def inside(entry: dict) -> int:
        west, south, east, north = entry["extent_lonlat"]
        return sum(west - margin <= x <= east + margin and south - margin <= y <= north + margin for x, y in lonlat)

    current = _sample_extent() if how == "sample" else _entry_extent(entries, st.session_state.get(S.NETWORK_STORE))
    if current is not None and 2 * inside({"extent_lonlat": current}) > len(lonlat):
        return  # the network in use holds most of the points: it stays (the planner's or the default's word)
    counts = [inside(e) for e in entries]
    best = max(range(len(entries)), key=lambda i: (counts[i], -i))  # most points; on a tie the newest
    key = "network_auto_holds" if counts[best] else "network_auto_newest"
    chosen = STORE + entries[best]["path"]
    st.session_state[S.NETWORK_HOW] = "store"
    st.session_state[S.NETWORK_STORE] = chosen
    values = {"name": entries[best]["source"]["name"], "n": len(lonlat), "inside": counts[best]}
    st.session_state[S.NETWORK_AUTO_NOTE] = (key, values, chosen)


@functools.cache
def _sample_extent() -> tuple[float, float, float, float]:
    """The bundled sample's extent (west, south, east, north; WGS-84): its review units' bounds."""
    return tuple(float(v) for v in gpd.read_file(sample_paths()["boundaries"]).to_crs(4326).total_bounds)


def _entry_extent(entries: list[dict], chosen: str | None) -> list[float] | None:
    """The extent of the prepared network in use (``chosen``, a ``store:`` source), if it is listed."""
    return next((e["extent_lonlat"] for e in entries if chosen == STORE + e["path"]), None)


def network_note_ui(network: str, lang: str) -> None:
    """Say which prepared network was chosen for the uploads, and why, while it is the one in use."""
    said = st.session_state.get(S.NETWORK_AUTO_NOTE)
    if said and said[2] == network:
        st.info(t(said[0], lang, **said[1]))


def data_ui(lang: str) -> Sources:
    """Data panel: the sample by default; the planner's own network, facilities, residents, units, candidates."""
    _choose_network_for_uploads(lang)
    with st.expander(t("data", lang), expanded=False, key=S.DATA_BOX):  # issue 29: kept whole, uploads in flight too
        st.caption(t("data_help", lang))
        how = st.radio(
            t("network", lang),
            ["sample", "store", "file", "osm"],
            key=S.NETWORK_HOW,
            format_func=lambda c: both("network_upload" if c == "file" else f"network_{c}"),
        )
        network = SAMPLE
        if how == "file":
            network = source_ui(
                t("network_file_roads", lang), S.NETWORK_FILE, ["graphml", "osm", "pbf", *ROAD_TYPES], lang
            )
            network = road_crs_ui(network, lang)  # issue 30: a road layer's coordinate system
        elif how == "osm":
            network = _osm_ui(lang)
        elif how == "store":
            network = _store_ui(lang)
        facilities = source_ui(t("facilities_file", lang), S.FACILITIES_FILE, _POINT_TYPES, lang)
        crs = st.selectbox(
            t("facilities_crs", lang), _CRS, key=S.FACILITIES_CRS, format_func=lambda c: both(f"crs_{c}")
        )
        demand = source_ui(t("demand_file", lang), S.DEMAND_FILE, [*_POINT_TYPES, *_RASTER_TYPES], lang)
        demand_crs = st.selectbox(t("demand_crs", lang), _CRS, key=S.DEMAND_CRS, format_func=_crs_label)
        total = st.number_input(t("demand_total", lang), min_value=0, value=0, step=1000, key=S.DEMAND_TOTAL)
        candidates = source_ui(t("candidates_file", lang), S.CANDIDATES_FILE, _POINT_TYPES, lang)
        walls = _WALL_TYPES  # issue 30: gated compounds and their gates
        compounds = source_ui(t("compounds_file", lang), S.COMPOUNDS_FILE, walls, lang)
        gates = source_ui(t("gates_file", lang), S.GATES_FILE, walls, lang) if compounds != SAMPLE else SAMPLE
        compounds, gates = walls_crs_ui(compounds, gates, lang)  # their coordinate system (WGS-84 copies if chosen)
        units = units_ui(lang)
    network_note_ui(network, lang)
    if network != SAMPLE and SAMPLE in (facilities, demand):
        st.warning(t("own_network_needs_points", lang))
    if network != SAMPLE and units in ("sample", "sample_grid"):  # made-up units of Monaco on the planner's streets
        st.warning(t("own_network_needs_units", lang))
    return Sources(
        inputs=Inputs(
            network,
            facilities,
            crs,
            demand,
            float(total) or None,
            demand_crs,
            names=planner_names(
                network=network,
                facilities=facilities,
                demand=demand,
                boundaries=units,
                compounds=compounds,
                gates=gates,
            ),
            compounds=None if compounds == SAMPLE else compounds,  # issue 30
            gates=None if gates == SAMPLE else gates,
            units=units if demand != SAMPLE and is_table(demand) else None,  # issue 25: a table of units' residents
        ),
        units=units,
        candidates=None if candidates == SAMPLE else candidates,
    )


def _standard_label(code: str) -> str:
    return both(f"standard_{code}")


def _crs_label(code: str) -> str:
    return both(f"crs_{code}")


def units_ui(lang: str) -> str:
    """Which review units: the sample's, Luoyang's bundled city and districts, or the planner's own file."""
    choice = st.radio(
        t("units", lang),
        ["sample", "luoyang", "sample_grid", "upload"],  # issue 30: sample_grid, the sample with grids (网格)
        key=S.UNITS,
        format_func=lambda c: both(f"units_{c}"),
    )
    if choice != "upload":
        return choice
    return source_ui(t("units_file", lang), S.UNITS_FILE, ["geojson", "gpkg", "zip"], lang)


def params_ui(lang: str, groups: Sequence[str] = ()) -> Params:
    """The analysis parameters: mode and speed, yardstick, threshold, bands, categories, population groups' speeds.

    Parameters
    ----------
    lang
        ``"zh"`` or ``"en"``.
    groups
        The residents' population groups (``quarterhour.ui.compute.group_names``): each may get its own walking speed.
    """
    st.header(t("settings", lang))
    mode = st.radio(t("mode", lang), list(MODES), format_func=lambda m: both(f"mode_{m}"), horizontal=True, key=S.MODE)
    low, high = SPEED_RANGES[mode]
    speed = st.slider(
        t("speed", lang), low, high, MODE_SPEEDS_KMH[mode], 0.1 if mode == "walk" else 0.5, key=S.speed_key(mode)
    )
    standard = st.radio(t("standard", lang), list(STANDARDS), format_func=_standard_label, key=S.STANDARD)
    circles = CIRCLES if standard != "minutes" else (5, 10, 15, 20, 30)  # GB 50180 names three circles
    if st.session_state.get(S.MINUTES, 15) not in circles:
        st.session_state[S.MINUTES] = 15
    minutes = st.select_slider(t("threshold", lang), options=list(circles), value=15, key=S.MINUTES)
    if standard != "minutes":
        st.caption(t("yardstick_speed_unused", lang))
    offered = tuple(b for b in BANDS if b in circles)
    if any(b not in offered for b in st.session_state.get(S.BANDS, ())):
        st.session_state[S.BANDS] = [b for b in st.session_state[S.BANDS] if b in offered]
    bands = st.multiselect(
        t("bands", lang),
        offered,
        default=[5.0, 10.0],
        key=S.BANDS,
        format_func=lambda b: f"{b:g}′",
        placeholder=t("choose_some", lang),
    )
    cats = st.multiselect(
        t("categories_used", lang),
        list(CATEGORIES),
        default=list(CATEGORIES),
        format_func=category_both,  # the same in both languages
        key=S.CATEGORIES,
        placeholder=t("choose_some", lang),
    )
    with st.expander(t("category_minutes", lang)):
        cat_minutes = tuple(
            (
                c,
                float(
                    st.number_input(category_both(c), 1, 60, int(CATEGORY_MINUTES[c]), key=S.category_minutes_key(c))
                ),
            )
            for c in CATEGORIES
        )
    speeds = _group_speeds_ui(groups, lang) if groups and standard == "minutes" else ()
    at = time_ui(lang)  # issue 31: only the facilities open at this time of the week count
    return Params(float(minutes), float(speed), tuple(cats), cat_minutes, tuple(sorted(bands)), standard, speeds, at=at)


def _group_speeds_ui(groups: Sequence[str], lang: str) -> tuple[tuple[str, float], ...]:
    """A walking speed per population group (empty: the run's speed), e.g. 3.2 km/h for residents over 60."""
    with st.expander(t("group_speeds", lang)):
        st.caption(t("group_speeds_help", lang, older=OLDER_KMH))
        chosen = {g: st.number_input(g, 1.0, 6.0, None, 0.1, key=S.group_speed_key(g)) for g in groups}
    return tuple((g, float(v)) for g, v in chosen.items() if v)


def basemap_ui(lang: str) -> tuple[str, str]:
    """The basemap and, for Tianditu, the planner's key."""
    basemap = st.radio(t("basemap", lang), list(BASEMAPS), format_func=lambda b: both(f"basemap_{b}"), key=S.BASEMAP)
    key = ""
    if basemap == "tianditu":
        key = st.text_input(t("tianditu_key", lang), type="password", key=S.TIANDITU_KEY)
        if not key:
            st.caption(t("tianditu_needs_key", lang))
    return basemap, key
