"""What gated compounds change (issue 30): how many residents live in them, how much the gates add to their walk."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from analysis.traveltime import nearest_times
from geo.chinacrs import SYSTEM_NAMES, CrsChoice
from geo.network import StreetNetwork
from geo.notes import Note, note
from geo.snap import snap_points

__all__ = ["compound_notes", "compounds_crs_notes", "gate_toll"]


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cum = np.cumsum(w)
    return float(v[np.searchsorted(cum, q * cum[-1])])


def _shown(names: list[str]) -> list[str]:
    return [*names[:5], "…"] if len(names) > 5 else names


def gate_toll(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    d_snap: pd.DataFrame,
    *,
    speed_kmh: float,
    max_snap_m: float,
) -> pd.Series:
    """Minutes the gates add to each resident's walk to the nearest facility (NaN outside gated compounds).

    The walk on the walled network less the walk on the same streets with every compound open; residents
    no facility reaches either way get NaN.
    """
    walls = network.derived.get("compounds")
    out = pd.Series(np.nan, index=demand.index)
    if walls is None or "compound" not in d_snap:
        return out
    inside = d_snap["compound"].to_numpy() >= 0
    if not inside.any():
        return out
    open_net = walls.open_network
    walled = nearest_times(
        network, snap_points(facilities, network, max_snap_m=max_snap_m), d_snap[inside], speed_kmh=speed_kmh
    )
    opened = nearest_times(
        open_net,
        snap_points(facilities, open_net, max_snap_m=max_snap_m),
        snap_points(demand[inside], open_net, max_snap_m=max_snap_m),
        speed_kmh=speed_kmh,
    )
    with np.errstate(invalid="ignore"):  # unreached both ways (inf - inf): NaN, as below
        added = (walled.point_s - opened.point_s) / 60
    added[~(np.isfinite(walled.point_s) & np.isfinite(opened.point_s))] = np.nan
    out.iloc[np.flatnonzero(inside)] = added
    return out


def compound_notes(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    d_snap: pd.DataFrame,
    *,
    speed_kmh: float,
    max_snap_m: float,
) -> list[Note]:
    """The notes on gated compounds: residents in them, the gates' toll (median, p90), the compounds left open."""
    notes: list[Note] = _crs_notes(network)
    walls = network.derived.get("compounds")
    if walls is None:
        r = network.derived.get("compounds_open")
        return notes + ([note("compounds_open", n=len(r["open"]), names=_shown(r["open"]))] if r and r["open"] else [])
    r = walls.report
    if r["open"]:
        notes.append(note("compounds_open", n=len(r["open"]), names=_shown(r["open"])))
    toll = gate_toll(network, facilities, demand, d_snap, speed_kmh=speed_kmh, max_snap_m=max_snap_m)
    inside = d_snap["compound"].to_numpy() >= 0 if "compound" in d_snap else np.zeros(len(demand), bool)
    pop = demand["pop"].to_numpy(dtype=float) if "pop" in demand else np.ones(len(demand))
    known = np.isfinite(toll.to_numpy())
    med = _weighted_quantile(toll.to_numpy()[known], pop[known], 0.5) if known.any() and pop[known].sum() else 0.0
    p90 = _weighted_quantile(toll.to_numpy()[known], pop[known], 0.9) if known.any() and pop[known].sum() else 0.0
    notes.append(
        note(
            "compounds_walled",
            n=r["gated"],
            gates=r["gates"] - r["gates_off"],
            cut=r["cut"],
            points=int(inside.sum()),
            pop=float(pop[inside].sum()),
            median=med,
            p90=p90,
        )
    )
    if r["gates_off"]:
        notes.append(note("gates_off", n=r["gates_off"]))
    return notes


def _crs_notes(network: StreetNetwork) -> list[Note]:
    """The walled network's check of its compounds' coordinate system (``geo.compounds.walled_network``), said."""
    file, choice = network.derived.get("compounds_crs") or (None, None)
    return compounds_crs_notes(file, choice)


def compounds_crs_notes(file: str | None, choice: CrsChoice | None) -> list[Note]:
    """When the compounds, read as their file says, sit clearly closer to the streets in another system: say so."""
    if choice is None or not choice.looks:
        return []
    return [
        note(
            "compounds_crs_looks",
            file=file,
            looks=SYSTEM_NAMES[choice.looks],
            best=choice.metres[choice.looks],
            wgs=choice.metres["wgs84"],
        )
    ]
