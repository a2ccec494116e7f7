"""The files the app offers: layers, tables, the scenario's GeoPackage, a unit's review pack, with provenance.

Cached like ``quarterhour.ui.compute``, on the same plain values; each file is made from
the cached run, never by running the analysis again.
"""

from __future__ import annotations

import streamlit as st

from geo import sample_paths
from geo.hours import at_label
from geo.scenario import changes_frame
from quarterhour.gis.export import gpkg_bytes, layer_bytes, provenance, table_bytes
from quarterhour.gis.roadlayer import issues_layer
from quarterhour.pack.report import PackOptions, build_pack
from quarterhour.provenance import options_record
from quarterhour.ui.compute import compute, compute_files, load_network, network_of, scenario, scenario_run
from quarterhour.ui.values import SAMPLE, Change, Inputs, Params

__all__ = ["app_provenance", "layer_file", "review_pack", "scenario_gpkg", "scenario_pack", "table_file"]


@st.cache_data(show_spinner=False, max_entries=16)
def scenario_gpkg(
    inputs: Inputs, units: str, params: Params, changes: tuple[Change, ...], *, lang: str = "zh"
) -> bytes:
    """The scenario's result as a GeoPackage: the changes, facilities, residents, levels and gaps after them.

    Parameters
    ----------
    inputs, units, params, changes
        As for ``scenario``.
    lang
        The layers' styles' language (legend words, labels), ``"zh"`` or ``"en"``.

    Returns
    -------
    bytes
        The GeoPackage, with the run's provenance and the number of changes.
    """
    view = scenario(inputs, units, params, changes)
    layers = {
        "changes": changes_frame(changes),
        "facilities": view.after.facilities,
        "demand": view.after.demand,
        **{f"coverage_{level}": table for level, table in view.after.levels.items()},
        **{f"compare_{level}": table for level, table in view.tables.items()},
        "gaps": view.after.gaps,
        "reach": view.reach,
    }
    prov = app_provenance(inputs, units, params)
    prov["parameters"]["scenario_changes"] = len(changes)
    kept = {name: layer for name, layer in layers.items() if len(layer.columns)}
    return gpkg_bytes(kept, provenance=prov, lang=lang)


#: The options the app's provenance records (the panel's; the rest are the app's fixed choices).
_APP_OPTIONS = ("minutes", "speed_kmh", "standard", "yardstick", "categories", "category_minutes", "bands")


def app_provenance(inputs: Inputs, units: str, params: Params) -> dict:
    """What produced the numbers on screen: the parameters and the input files (with their SHA-256).

    Parameters
    ----------
    inputs, units, params
        The run's inputs, review units and parameters.

    Returns
    -------
    dict
        ``quarterhour.gis.export.provenance`` of them.
    """
    paths = sample_paths()
    files = {
        "network": paths["network"] if inputs.network == SAMPLE else inputs.network,
        "facilities": paths["facilities"] if inputs.facilities == SAMPLE else inputs.facilities,
        "demand": paths["demand"] if inputs.demand == SAMPLE else inputs.demand,
        "boundaries": paths["boundaries"] if units == SAMPLE else units,
    }
    files.update({k: v for k, v in (("compounds", inputs.compounds), ("gates", inputs.gates)) if v})  # issue 30
    parameters = {
        "face": "app",
        **options_record(params.options(), _APP_OPTIONS),  # issue 25: the options' record, written in one place
        "facilities_crs": inputs.facilities_crs,
        "demand_crs": inputs.demand_crs,
        "demand_total": inputs.demand_total,
    }
    if params.at is not None:  # issue 31: the time asked, as the planner reads it
        parameters["at"] = f"{at_label(params.at)} / {at_label(params.at, 'en')}"
    return provenance(parameters, files, names=dict(inputs.names))


@st.cache_data(show_spinner=False, max_entries=16)
def layer_file(inputs: Inputs, units: str, params: Params, name: str, fmt: str, *, lang: str = "zh") -> bytes:
    """One layer (or, for ``all``, every layer in one GeoPackage) as a file, with provenance.

    Parameters
    ----------
    inputs, units, params
        The run's inputs, review units and parameters (as for ``compute``).
    name
        A layer of ``CircleResult.layers()``, or ``all``.
    fmt
        ``gpkg``, ``geojson`` or ``shp`` (ignored for ``all``: a GeoPackage).
    lang
        The GeoPackage's styles' language (legend words, labels), ``"zh"`` or ``"en"``.

    Returns
    -------
    bytes
        The file (``quarterhour.gis.export.layer_bytes``).
    """
    layers = compute_files(inputs, units, params).layers()
    prov = app_provenance(inputs, units, params)
    if name == "all":  # with a road layer's network_issues (issue 30)
        return gpkg_bytes({**layers, **issues_layer(load_network(inputs.network), lang)}, provenance=prov, lang=lang)
    return layer_bytes(layers[name], name, fmt, provenance=prov, lang=lang)


@st.cache_data(show_spinner=False, max_entries=16)
def table_file(inputs: Inputs, units: str, params: Params, name: str, fmt: str) -> bytes:
    """One table as CSV or XLSX; names that look like formulas are made inert (``export.safe_table``).

    Parameters
    ----------
    inputs, units, params
        The run's inputs, review units and parameters (as for ``compute``).
    name
        A table of ``CircleResult.tables()``.
    fmt
        ``csv`` or ``xlsx``.

    Returns
    -------
    bytes
        The file (``quarterhour.gis.export.table_bytes``).
    """
    return table_bytes(compute(inputs, units, params).tables()[name], fmt)


@st.cache_data(show_spinner=False, max_entries=8)
def review_pack(inputs: Inputs, units: str, params: Params, *, level: str, code: str, lang: str) -> bytes:
    """One unit's review pack (GeoPackage, map PNG, XLSX, HTML, PDF) as a zip: the run is reused, not redone.

    Parameters
    ----------
    inputs, units, params
        The run's inputs, review units and parameters.
    level, code
        The unit: its admin level and its code in the run's table of that level.
    lang
        The pack's language, ``"zh"`` (Chinese with English in brackets) or ``"en"``.

    Returns
    -------
    bytes
        ``quarterhour.pack.report.build_pack``'s zip, with the pack's other options at their defaults.
    """
    return build_pack(
        compute_files(inputs, units, params),
        network_of(inputs),  # issue 30
        PackOptions(level=level, lang=lang),
        code=code,
        provenance=app_provenance(inputs, units, params),
    )


@st.cache_data(show_spinner=False, max_entries=4)
def scenario_pack(
    inputs: Inputs,
    units: str,
    params: Params,
    changes: tuple[Change, ...],
    *,
    level: str,
    code: str,
    lang: str,
    named: tuple[tuple[str, object], ...],
) -> bytes:
    """A scenario's review pack for its unit: the run with the scenario's facilities, and who and what it is.

    Parameters
    ----------
    inputs, units, params, changes
        As for ``scenario``.
    level, code, lang
        As for ``review_pack``.
    named
        What the pack names in its parameters (``scenario``, ``scenario_version``, ``scenario_status`` ...),
        shown in the report's provenance table, the GeoPackage metadata and the spreadsheet.

    Returns
    -------
    bytes
        ``quarterhour.pack.report.build_pack``'s zip.
    """
    prov = app_provenance(inputs, units, params)
    prov["parameters"].update({**dict(named), "scenario_changes": len(changes)})
    return build_pack(
        scenario_run(inputs, units, params, changes),
        network_of(inputs),  # issue 30
        PackOptions(level=level, lang=lang),
        code=code,
        provenance=prov,
    )
