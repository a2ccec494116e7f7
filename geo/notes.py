"""Notes for the planner as data: a key and its values, put into words by the faces.

The analysis does not know the planner's language. It says what it did or left
out as a ``Note``; ``str(note)`` is the English text (the CLI's ``note:`` lines
and the logs), and ``quarterhour.i18n.note_text`` says it in the UI's language.
A face may still meet a plain ``str`` note (e.g. a solver's own message): it is
shown as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["NOTES_EN", "Note", "fill", "note"]

#: The English text of every note, by key (``quarterhour.i18n`` has it in Chinese and English).
NOTES_EN: dict[str, str] = {
    "read_rows": "read {n} rows from {file} ({encoding})",
    "converted": "converted {n} points from {crs} to WGS-84",
    "duplicates": "possible duplicates: '{name}' on rows {rows} lie within 50 m",
    "repaired": "{file}: polygons repaired (make_valid) as they were invalid: {n}, the first on row {row} "
    "({reason}); check them",
    "facilities_read": "{file}: {n} facilities",
    "residents_read": "{file}: {n:,} resident points, {pop:,.0f} residents ({how})",
    "how_points": "resident points with 'pop'",
    "how_areas": "{n} areas with 'pop', spread over a {grid_m:g} m grid",
    "how_spread": "{n:,} areas or cells with {pop:,.0f} residents, spread to the person: {streets:,.0f} along "
    "{km:,.1f} km of streets inside them, {buildings:,.0f} over building footprints, {point:,.0f} at one point "
    "(no street inside), {off:,.0f} off the network (no street within {max_snap_m:g} m)",
    "raster_window": "{file}: read a window of {cols:,} x {rows:,} of its {width:,} x {height:,} cells around the "
    "streets: {n:,} cells with residents, {pop:,.0f} residents",
    "raster_dropped": "{file}: dropped {nodata:,} nodata cells and {negative:,} negative cells ({negative_pop:,.0f})",
    "grid_cells": "{file}: the {n:,} points lie on one regular {dx:g} x {dy:g} lattice: read as a population "
    "grid's cell centres, each cell's residents spread over it",
    "units_matched": "{file}: {n:,} of {rows:,} rows matched to the {level} units by {by}: {pop:,.0f} residents",
    "units_unmatched": "{file}: {n:,} rows match no {level} unit and are left out ({pop:,.0f} residents): {names}",
    "how_buildings": "{n} building footprints, floor area x levels, x {per_m2:.4f} persons/m²",
    "how_buildings_scaled": "{n} building footprints, floor area x levels, scaled to {total:,.0f} residents",
    "how_scaled": "{how}, scaled to {total:,.0f} residents",
    "facilities_off": "{n} facilities more than {max_snap_m:g} m from any street were left out: {names}",
    "none_on_network": (
        "none of the {n} facilities lies within {max_snap_m:g} m of the streets: the facilities lie around "
        "({fac_lon:.4f}, {fac_lat:.4f}), the network around ({net_lon:.4f}, {net_lat:.4f}), about {km:,g} km "
        "apart{far}. Usual causes: the wrong coordinate system (WGS-84, GCJ-02, BD-09), longitude and latitude "
        "swapped, or a network of another place"
    ),
    "another_city": " (another city?)",
    "no_residents_on_network": (
        "none of the {n:,} resident points lies within {max_snap_m:g} m of the streets, so every resident counts as "
        "not covered: the residents lie around ({lon:.4f}, {lat:.4f}), the network around ({net_lon:.4f}, "
        "{net_lat:.4f}), about {km:,g} km apart. {cause}"
    ),
    "cause_swapped": "Likely cause: longitude and latitude are swapped (swapped back, the points lie by the streets)",
    "cause_degrees_as_metres": (
        "Likely cause: the coordinates are degrees but the file declares a CRS in metres (such as EPSG:3857), "
        "so they land by (0°, 0°); save the file with EPSG:4326"
    ),
    "cause_unknown": (
        "Usual causes: the wrong coordinate system (WGS-84, GCJ-02, BD-09, or the CRS the file declares), "
        "longitude and latitude swapped, or a network of another place"
    ),
    "residents_off": "{n} resident points ({pop:,.0f} residents) more than {max_snap_m:g} m from any street "
    "count as not covered",
    "facilities_fragments": "{n} facilities lie on {k} street fragments cut off from the main network: "
    "they reach, and are reached from, only their own fragment",
    "residents_fragments": "{n} resident points ({pop:,.0f} residents) lie on {k} street fragments cut off from "
    "the main network: they reach, and are reached from, only their own fragment",
    # siting (analysis/siting.py, analysis/siting_models.py)
    "candidates_off": "{n} candidates far from any street were left out",
    "candidates_outside_units": "{n} grid candidates outside the admin units were left out",
    "sites_stop_helping": "only {n} new sites add residents: more sites stop helping here",
    "nothing_left": "nothing left to cover",
    "unreached_grid": "{pop:,.0f} residents left out are within {minutes:g} min of a street corner but of no "
    "candidate: a finer grid (--spacing-m) or your own candidates (--candidates) would reach them",
    "unreached_off_network": "{pop:,.0f} residents left out are off the street network or more than {minutes:g} min "
    "from any street corner: no site on the network reaches them (check the residents' positions and the "
    "network's extent, or give your own candidates next to them)",
    "solver_gap": "time limit: best found, gap {gap:.2%} ({message})",
    "greedy_kept": "greedy answer kept: {message}",
    "out_of_reach": "{n} points out of reach of every option were left out",
    "outside_level": "{n} resident points ({pop:,.0f} residents) lie outside every {level} boundary and are not "
    "in the {level} table",
    "category_speed": "{category} judged at its own speed: {minutes:g} minutes at {speed:g} km/h, a {walk_m:,.0f} m "
    "walk",
    "category_speed_unused": "the categories' own speeds are not used: {standard} judges by network walking distance",
    # --- issue 31: i31-hours ---
    "hours_unreadable": "{file}: the opening hours of {n} facilities cannot be read and count as hours unknown "
    "(neither open nor closed; a category's hours in --categories fill them); name (row: text): {rows}",
    "hours_blank": "{file}: {n} facilities give no opening hours (hours unknown unless their category's are given)",
    "hours_filled": "{n} facilities take their category's opening hours: {names}",
    "hours_unknown": "{n} facilities' opening hours are unknown: they count neither as open nor as closed "
    "(up to {pop:,.0f} more residents would be covered at {at} if they were open)",
    "hours_at": "coverage at {at}: {n_open} of {n} facilities open, {n_unknown} with hours unknown",
    # --- issue 27: i27-bounds ---
    "names_cleaned": "{file}: removed {n:,} control characters (or bytes not in its encoding) from the text in "
    "column {columns}, the first on row {row}",
    # --- issue 30: i30-compounds ---
    "compounds_walled": "{n} gated compounds walled ({gates} gates on their edges; {cut} street segments across "
    "their walls cut): {points:,} resident points, {pop:,.0f} residents, live in them; the gates add "
    "{median:.1f} min to their walk to the nearest facility at the median, {p90:.1f} min at the 90th percentile",
    "compounds_open": "{n} compounds have no gate on their edge and are taken as open (no wall): {names}",
    "gates_off": "{n} gates lie on no compound's edge and open nothing",
    # --- issue 30: i30-grid ---
    "grids_no_community": "{file}: {n} grids (网格) but no community boundaries: each grid lies in the unit of the "
    "nearest level above that holds its inside point; give the community layer to see the grids per community",
    "grids_outside_community": "{file}: the inside point of {n} grids (网格) lies in no community; they lie in the "
    "nearest level above that holds it: {names}",
    "grids_straddle": "{file}: {n} grids (网格) reach more than {pct:g}% of their area out of their community; each "
    "belongs to the community holding its inside point, and counts the residents inside its own polygon: {names}",
    # --- issue 30: i30-roads ---
    "roads_read": "{file}: a road layer of {n:,} features, read as a network of {nodes:,} nodes and {segments:,} "
    "segments, {km:,.1f} km, in {crs}",
    "roads_not_walkable": "{n:,} roads are not walked and were left out (by column '{column}': expressways and "
    "their ramps, or walk = no; {option} changes it)",
    "roads_topology": "network check: {joined:,} end points joined, {noded:,} crossings noded, {not_noded:,} not "
    "noded (they pass over each other: {levels}), segments dropped: {zero:,} of zero length and {duplicates:,} "
    "duplicates; {dangles:,} dead ends, {fragments:,} fragments cut off, the largest part holds {share:.1f}% of the "
    "length (see the layer {layer})",
}


@dataclass(frozen=True)
class Note:
    """One thing the planner should know: ``key`` (of ``NOTES_EN``) and its ``values`` as (name, value) pairs.

    Values are numbers, strings, tuples of strings (lists of names) or other ``Note`` objects
    (a part of the sentence that is itself said in the planner's language).

    Examples
    --------
    >>> str(note("facilities_read", file="centres.csv", n=2))
    'centres.csv: 2 facilities'
    """

    key: str
    values: tuple[tuple[str, object], ...] = ()

    def __str__(self) -> str:
        """The note in English."""
        return fill(NOTES_EN[self.key], self, str, ", ")


def note(key: str, **values: object) -> Note:
    """A ``Note`` of ``key`` with ``values`` (lists become tuples, so the note stays hashable)."""
    if key not in NOTES_EN:
        raise KeyError(f"no note '{key}' in geo.notes.NOTES_EN")
    return Note(key, tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in values.items()))


def fill(template: str, n: Note, say, sep: str) -> str:
    """``template`` with the values of ``n``: nested notes said by ``say``, tuples joined by ``sep``."""
    values = {
        k: say(v) if isinstance(v, Note) else sep.join(map(str, v)) if isinstance(v, tuple) else v for k, v in n.values
    }
    return template.format(**values)
