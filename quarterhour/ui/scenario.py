"""The scenario panel beside the map: how clicks act, the changes, save/load, the comparison; and the map."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
import streamlit as st

from analysis import columns as C
from geo.osm import MAX_BOX_KM2, box_km2
from geo.scenario import change_rows, changes_frame, read_scenario, scenario_geojson
from geo.vocab import CATEGORIES, DEFAULT_NEW_CATEGORY
from quarterhour.gis.export import MIME
from quarterhour.i18n import both, category_both, t
from quarterhour.render.maplayers import site_layers, site_reach_layers
from quarterhour.render.webmap import scenario_layer
from quarterhour.ui import state as S
from quarterhour.ui.compute import base_map, compute, network_centre_lonlat, scenario, siting
from quarterhour.ui.errors import step
from quarterhour.ui.files import scenario_gpkg
from quarterhour.ui.mapview import Overlays, old_map_click, show_map
from quarterhour.ui.plain import said
from quarterhour.ui.rerun import alone, keep_action, kept
from quarterhour.ui.sidebar import save_upload
from quarterhour.ui.values import Change, Inputs, Params, Plan
from quarterhour.ui.workspace import read_only, start_new

__all__ = ["add_centre", "compare_ui", "map_ui", "scenario_ui", "take_click"]

SNAP_CLICK_M = 100  # a click this close to a facility picks it (to move or close it)
CLICK_MODES = ("browse", "add", "move", "close", "box")


def _box_click(lon: float, lat: float, lang: str) -> None:
    """The first click marks a corner of the download box, the second the opposite one."""
    corner = st.session_state.pop(S.BOX_CORNER, None)
    if corner is None:
        st.session_state[S.BOX_CORNER] = (lon, lat)
        st.session_state[S.CLICK_NOTE] = t("box_second", lang)
        return
    west, east = sorted((corner[0], lon))
    south, north = sorted((corner[1], lat))
    km2 = box_km2((west, south, east, north))
    if km2 > MAX_BOX_KM2:
        st.session_state[S.CLICK_NOTE] = t("box_too_big", lang, km2=km2, limit=MAX_BOX_KM2)
        return
    st.session_state[S.OSM_BBOX] = (west, south, east, north)
    st.session_state[S.CLICK_NOTE] = t("box_set", lang, km2=km2)


def take_click(facilities: gpd.GeoDataFrame, crs: object, lang: str) -> None:
    """Turn the map's last click into a change, once (the component keeps repeating its last value)."""
    clicked = (st.session_state.get(S.MAP) or {}).get("last_clicked")
    earlier = old_map_click()  # issue 29 (lost-input): made on the map a page run was replacing: taken on this one
    if earlier and earlier not in (clicked, st.session_state.get(S.CLICK_DONE)):
        st.session_state[S.MAP_CLICK_KEPT] = True
        _take_one(earlier, facilities, crs, lang)
    _take_one(clicked, facilities, crs, lang)


def _take_one(clicked: dict | None, facilities: gpd.GeoDataFrame, crs: object, lang: str) -> None:
    """One click (``{"lat": …, "lng": …}``) as a change, unless it is the one taken last."""
    if not clicked or clicked == st.session_state.get(S.CLICK_DONE):
        return
    st.session_state[S.CLICK_DONE] = clicked
    mode = st.session_state.get(S.CLICK_MODE, "browse")
    if read_only() and mode != "box":  # the reviewer's view changes nothing
        return
    lon, lat = float(clicked["lng"]), float(clicked["lat"])
    changes: list[Change] = st.session_state[S.CHANGES]
    if mode == "box":
        box = st.session_state.get(S.OSM_BBOX)
        _box_click(lon, lat, lang)
        if st.session_state.get(S.OSM_BBOX) != box and alone():  # issue 29: the sidebar's download takes the box
            st.rerun()
        return
    if mode == "add":
        add_centre(lon, lat, st.session_state.get(S.NEW_CATEGORY, DEFAULT_NEW_CATEGORY), lang)
    elif mode in ("move", "close"):
        here = gpd.GeoSeries([shapely.Point(lon, lat)], crs=4326).to_crs(crs).iloc[0]
        if mode == "move" and st.session_state.get(S.PICKED):
            fid = st.session_state.pop(S.PICKED)
            changes.append(Change("move", fid, facilities.loc[fid, "name"], facilities.loc[fid, "category"], lon, lat))
            return
        dist = facilities.distance(here)
        if len(dist) == 0 or dist.min() > SNAP_CLICK_M:
            st.session_state[S.CLICK_NOTE] = t("no_facility_near", lang, m=SNAP_CLICK_M)
            return
        fid = dist.idxmin()
        if mode == "close":
            changes.append(Change("close", fid, facilities.loc[fid, "name"], facilities.loc[fid, "category"], lon, lat))
        else:
            st.session_state[S.PICKED] = fid
            st.session_state[S.CLICK_NOTE] = said("now_click_target", lang, name=str(facilities.loc[fid, "name"]))


def add_centre(lon: float, lat: float, category: str, lang: str) -> None:
    """Add a new centre of ``category`` at (lon, lat) to the session's scenario, numbered in order."""
    changes: list[Change] = st.session_state[S.CHANGES]
    n = sum(1 for c in changes if c.action == "add") + 1
    changes.append(Change("add", None, t("new_centre_name", lang, n=n), category, lon, lat))


def network_centre(source: str) -> tuple[float, float]:
    """The (lon, lat) of the middle of a network's extent: an example of coordinates on the planner's own streets."""
    return network_centre_lonlat(source)  # issue 29 (city-click): cached, not a city's nodes reprojected per click


def _add_by_coordinates(lang: str) -> None:
    """The form's '新增' (a callback, issue 29): the centre joins the scenario before any part or page reruns."""
    text = st.session_state.get(S.LONLAT) or ""
    try:
        lon, lat = (float(v) for v in text.replace("，", ",").split(","))
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError
    except ValueError:
        st.session_state[S.LONLAT_BAD] = text
    else:
        add_centre(lon, lat, st.session_state.get(S.NEW_CATEGORY, DEFAULT_NEW_CATEGORY), lang)
    keep_action(S.PART_MAP)


def _add_by_coordinates_ui(lang: str, centre: tuple[float, float]) -> None:
    with st.form(S.ADD_FORM, border=False):
        example = f"{centre[0]:.4f}, {centre[1]:.4f}"  # on the network in use, not Monaco's
        st.text_input(t("add_lonlat", lang), key=S.LONLAT, placeholder=example)
        st.form_submit_button(t("add", lang), on_click=_add_by_coordinates, args=(lang,))
        bad = st.session_state.pop(S.LONLAT_BAD, None)
        if bad is not None:
            st.error(said("bad_lonlat", lang, text=bad))


def _changes_table_ui(changes: list[Change], lang: str) -> None:
    shown = pd.DataFrame(
        [(t(f"change_{c.action}", lang), c.facility_id or "", c.name, c.lon, c.lat) for c in changes],
        columns=[t("change", lang), "ID", t("name", lang), "lon", "lat"],
    )
    st.dataframe(shown.round(5), hide_index=True, width="stretch")
    a, b = st.columns(2)
    a.button(t("undo", lang), key=S.UNDO, on_click=_undo)  # issue 29: callbacks, the map's part reruns alone
    b.button(t("clear", lang), key=S.CLEAR, on_click=_clear)


def _undo() -> None:
    changes: list[Change] = st.session_state[S.CHANGES]
    if changes:
        changes.pop()
    keep_action(S.PART_MAP)


def _clear() -> None:
    st.session_state[S.CHANGES].clear()
    keep_action(S.PART_MAP)


def _load_scenario_ui(lang: str) -> None:
    """A scenario file replaces the session's changes, once per file."""
    loaded = st.file_uploader(
        t("load_scenario", lang), type=["geojson", "json"], key=S.SCENARIO_FILE, **kept(S.PART_MAP)
    )
    if loaded is None:
        return
    digest = hashlib.sha256(loaded.getvalue()).hexdigest()
    if digest == st.session_state.get(S.SCENARIO_LOADED):
        return
    with step(lang):
        path = save_upload(loaded, lang)
        if path:
            st.session_state[S.CHANGES] = changes = [Change(*row) for row in change_rows(read_scenario(path))]
            st.session_state[S.SCENARIO_LOADED] = digest
            start_new(Path(loaded.name).stem)  # saved as a new scenario in the workspace, named after the file
            st.success(t("scenario_loaded", lang, n=len(changes)))


def scenario_ui(inputs: Inputs, units: str, params: Params, facilities: gpd.GeoDataFrame, lang: str):
    """The scenario panel beside the map: how clicks act, the changes, save/load, and the comparison.

    Returns the scenario's map layer (new, moved and closed centres and their reach), or None without changes.
    """
    st.subheader(t("scenario", lang))
    if read_only():  # the reviewer's view: the saved scenario, no edit or undo controls
        return _read_only_ui(inputs, units, params, facilities, lang)
    st.radio(
        t("click_mode", lang),
        list(CLICK_MODES),
        format_func=lambda m: both(f"click_{m}"),
        horizontal=True,
        key=S.CLICK_MODE,
        **kept(S.PART_MAP),  # issue 29: a change during an unfinished page run is drawn, not only stored
    )
    st.selectbox(
        t("new_category", lang),
        list(CATEGORIES),
        index=list(CATEGORIES).index(DEFAULT_NEW_CATEGORY),
        format_func=category_both,
        key=S.NEW_CATEGORY,
        **kept(S.PART_MAP),
    )
    st.caption(t(f"click_help_{st.session_state.get(S.CLICK_MODE, 'browse')}", lang))
    if note := st.session_state.pop(S.CLICK_NOTE, None):
        st.info(note)
    _add_by_coordinates_ui(lang, network_centre(inputs.network))
    if st.session_state[S.CHANGES]:
        _changes_table_ui(st.session_state[S.CHANGES], lang)
    _load_scenario_ui(lang)
    changes = tuple(st.session_state[S.CHANGES])
    if not changes:  # the scenario's base is made after the map is drawn (ui.fragments.map_part), before a click
        return None
    started = time.perf_counter()
    view = scenario(inputs, units, params, changes)
    st.session_state[S.SCENARIO_S] = time.perf_counter() - started
    st.download_button(
        t("save_scenario", lang),
        data=scenario_geojson(changes_frame(changes)),
        file_name="scenario.geojson",
        mime=MIME["geojson"],
        key=S.SAVE_SCENARIO,
    )
    compare_ui(view.figures, view.tables, lang)
    # Written when asked for, not on every click: a city's residents make it a second's work.
    st.button(t("prepare_scenario", lang), key=S.PREPARE_SCENARIO, on_click=_prepare, args=(changes,))
    if st.session_state.get(S.SCENARIO_FILE_FOR) == changes:
        st.download_button(
            t("download_scenario", lang),
            data=scenario_gpkg(inputs, units, params, changes, lang=lang),
            file_name="scenario_result.gpkg",
            mime=MIME["gpkg"],
            key=S.DOWNLOAD_SCENARIO,
        )
    closed_ids = [c.facility_id for c in changes if c.action == "close"]
    closed = facilities.loc[[i for i in closed_ids if i in facilities.index]]
    return scenario_layer(view.after.facilities, closed, view.reach, lang)


def _prepare(changes: tuple[Change, ...]) -> None:
    """'准备方案结果' (a callback, issue 29): the file of the changes the page showed is asked for."""
    st.session_state[S.SCENARIO_FILE_FOR] = changes
    keep_action(S.PART_MAP)


def _read_only_ui(inputs: Inputs, units: str, params: Params, facilities: gpd.GeoDataFrame, lang: str):
    """The scenario as saved, for an account that reviews: its changes and figures, nothing to edit."""
    st.caption(t("read_only_view", lang))
    changes = tuple(st.session_state[S.CHANGES])
    if not changes:
        return None
    st.dataframe(
        pd.DataFrame(
            [(t(f"change_{c.action}", lang), c.facility_id or "", c.name, c.lon, c.lat) for c in changes],
            columns=[t("change", lang), "ID", t("name", lang), "lon", "lat"],
        ).round(5),
        hide_index=True,
        width="stretch",
    )
    view = scenario(inputs, units, params, changes)
    compare_ui(view.figures, view.tables, lang)
    closed_ids = [c.facility_id for c in changes if c.action == "close"]
    closed = facilities.loc[[i for i in closed_ids if i in facilities.index]]
    return scenario_layer(view.after.facilities, closed, view.reach, lang)


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
    level = next((lv for lv in ("grid", "community", "subdistrict", "district") if lv in tables), None)
    if level:
        table = C.whole_persons_shown(tables[level].head(8)).rename(  # residents in whole persons
            columns={
                "name": t("name", lang),
                C.POP: t("residents", lang),
                "pct_before": t("now", lang) + " %",
                "pct_after": t("with_scenario", lang) + " %",
                "pct_change": "Δ %",
            }
        )
        st.dataframe(table.drop(columns="code").round(1), hide_index=True, width="stretch")


def map_ui(
    inputs: Inputs, units: str, params: Params, *, lang: str, plan: Plan | None, candidates: str | None, layer
) -> None:
    """The map: the analysis's layers, the scenario's layer on top, the chosen basemap; clicks come back."""
    basemap, key = st.session_state.get(S.BASEMAP_CHOICE, ("none", ""))
    # issue 29 (map-frame): the siting's sites are overlays on the kept base map, not a new base map
    md = base_map(inputs, units, params, lang=lang, plan=None, candidates=candidates)
    sites = _site_overlays(inputs, units, params, lang=lang, plan=plan, candidates=candidates)
    # issue 29: the component's callback stores the click, then the part reruns under its id of now
    # (take_click turns it into a change): a click during an unfinished page run is not lost
    show_map(
        md, layer, key=S.MAP, basemap=basemap, tianditu_key=key, height=620, on_change=_map_clicked, overlays=sites
    )
    drawn, now = st.session_state.get(S.MAP_DRAWN), (inputs, units, params)
    st.session_state[S.MAP_DRAWN] = now
    if st.session_state.pop(S.MAP_CLICK_KEPT, False):  # issue 29 (lost-input): a click on the map being replaced
        st.caption(t("map_click_kept", lang))
    elif drawn is not None and drawn != now:  # issue 29: a click on the map this one replaces: said how it is kept
        st.caption(t("map_redrawn_kept", lang))


@st.cache_resource(show_spinner=False, max_entries=16)
def _site_overlays(
    inputs: Inputs, units: str, params: Params, *, lang: str, plan: Plan | None, candidates: str | None
) -> Overlays:
    """The siting's sites and their reach, drawn over the kept map in place of the run's own suggested site."""
    if not plan:
        return Overlays()
    planned = siting(inputs, units, params, candidates, plan)
    own = site_layers(compute(inputs, units, params).sites, lang)
    layers = (*site_reach_layers(planned.isochrones, lang), *site_layers(planned.sites, lang))
    return Overlays(layers=layers, hide=tuple(layer.name for layer in own))


def _map_clicked() -> None:
    keep_action(S.PART_MAP)
