"""A run's options as one frozen value: ``CircleOptions`` (issue 25 item 2).

The command line's parsers (``quarterhour.cli.args.circle_options``), the app's panel
(``quarterhour.ui.values.Params.options``) and batch (``quarterhour.batch.unit.BatchOptions.options``)
each build one; ``run_circle`` and its stages (``analysis.stages``) read it; provenance
is written from it (``CircleOptions.record``, ``quarterhour.provenance.options_record``).
Every default is defined here, once: the walking speed is ``analysis.traveltime.WALK_KMH``
(``MODE_SPEEDS_KMH``), taken by ``mode`` when no ``speed_kmh`` is given.

Frozen and holding tuples (not lists or dicts), so an equal value hashes equal: the app's
caches key on it, batch hashes it to know a unit's output is still the one asked for.

Examples
--------
>>> o = CircleOptions()
>>> o.minutes, o.mode, o.speed_kmh, o.standard
(15.0, 'walk', 4.5, 'minutes')
>>> CircleOptions(mode="bike").speed_kmh
15.0
>>> o = CircleOptions(minutes=10, category_minutes={"study_room": 20})
>>> o.category_minutes, o.thresholds()["study_room"]
((('study_room', 20.0),), 20.0)
>>> CircleOptions(standard="gb50180").yardstick.walk_m(15)
1000.0
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from analysis.defaults import CELL_M, DECAYS, MODE_SPEEDS_KMH, SPACING_M, STREET_SIDE_M, WALK_KMH, Group
from analysis.yardstick import STANDARDS, Measured
from geo.errors import InputError
from geo.vocab import CATEGORY_MINUTES, DEFAULT_MAX_SNAP_M

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CIRCLE_MIN", "ISOCHRONE_KINDS", "MODES", "WALK_KMH", "CircleOptions", "Pairs", "categories_options"]

#: The life circle's threshold in minutes by default: the 15-minute circle.
CIRCLE_MIN = 15.0
#: The travel modes, each with its default speed (``analysis.traveltime.MODE_SPEEDS_KMH``).
MODES = tuple(MODE_SPEEDS_KMH)
#: The three ways to draw the reach: one polygon per facility, all facilities merged,
#: and the merged reach split to the facility that reaches each place first.
ISOCHRONE_KINDS = ("facility", "merged", "nearest")

#: A mapping frozen as sorted (key, number) pairs, hashable.
Pairs = tuple[tuple[str, float], ...]


def _pairs(values: Mapping[str, float] | Sequence[tuple[str, float]] | None, what: str) -> Pairs:
    """``values`` as sorted (str, float) pairs; a value that is not a positive number refused."""
    items = dict(values or {}).items()
    out = []
    for key, value in items:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not number > 0:
            raise InputError("options_pair_not_positive", what=what, key_value=key, value=value)
        out.append((str(key), number))
    return tuple(sorted(out))


@dataclass(frozen=True)
class CircleOptions(Measured):
    """What one circle is measured by, every option of ``run_circle`` in one value.

    Mappings may be given as dicts; they are kept as sorted ``(key, value)`` pairs.

    Attributes
    ----------
    minutes
        The circle's threshold in minutes: a resident is ``covered`` within it of any facility.
    mode
        The travel mode (``MODES``): ``walk``, ``bike`` or ``ebike``; sets ``speed_kmh`` when that is not given.
    speed_kmh
        Speed in km/h of the ``minutes`` yardstick (``None``: the mode's, 4.5 km/h walking).
    standard
        The yardstick (``analysis.yardstick.STANDARDS``): ``minutes`` at ``speed_kmh``, or ``gb50180``
        (``gb50180-strict``): each threshold judged by its network walking distance.
    bands
        Further thresholds in minutes to draw the reach for (``minutes`` is always drawn).
    isochrones
        Which kinds of reach to draw, out of ``ISOCHRONE_KINDS``; the others come back empty.
    categories
        The facility categories counted; ``None`` counts every facility.
    category_minutes
        Threshold in minutes per category, over GB 50180-2018's (``geo.vocab.CATEGORY_MINUTES``).
    category_capacity
        Capacity per category (e.g. floor area) for facilities with no ``capacity`` of their own.
    category_speed
        Walking speed in km/h per category judged at its own speed (e.g. 3.2 for older residents).
    groups
        Population groups (columns of the residents), each covered at its own speed (``analysis.groups``).
    decay
        2SFCA distance decay: ``none``, ``gaussian`` or ``stepped``.
    load_norm
        Residents per unit of capacity above which a facility is ``overloaded``; ``None`` flags none.
    max_snap_m
        Points farther than this many metres from any street are off the network.
    street_side_m
        How far either side of a reached street the reach's polygons reach, in metres.
    gap_cell_m
        Side in metres of the grid cells gap zones are built from.
    n_sites
        How many new sites to suggest (exact MCLP); 0 suggests none.
    site_spacing_m
        Spacing in metres of the grid of candidate sites.
    reach_cell_m
        Trace the merged reach from a grid of about this cell (``analysis.reachgrid``); ``None`` unites
        every facility's isochrones.
    """

    minutes: float = CIRCLE_MIN
    mode: str = "walk"
    speed_kmh: float | None = None
    standard: str = "minutes"
    bands: tuple[float, ...] = ()
    isochrones: tuple[str, ...] = ISOCHRONE_KINDS
    categories: tuple[str, ...] | None = None
    category_minutes: Pairs = ()
    category_capacity: Pairs = ()
    category_speed: Pairs = ()
    groups: tuple[Group, ...] = ()
    decay: str = "none"
    load_norm: float | None = None
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    street_side_m: float = STREET_SIDE_M
    gap_cell_m: float = CELL_M
    n_sites: int = 1
    site_spacing_m: float = SPACING_M
    reach_cell_m: float | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__  # frozen: the normal forms are set once, here
        if self.mode not in MODE_SPEEDS_KMH:
            raise InputError("options_unknown_mode", mode=self.mode, modes=", ".join(MODES))
        if self.standard not in STANDARDS:
            raise InputError("options_unknown_standard", standard=self.standard, standards=", ".join(STANDARDS))
        if self.decay not in DECAYS:
            raise InputError("options_unknown_decay", decay=self.decay, decays=", ".join(DECAYS))
        unknown = set(self.isochrones) - set(ISOCHRONE_KINDS)
        if unknown:
            raise InputError(
                "options_unknown_isochrone", unknown=sorted(unknown), isochrone_kinds=", ".join(ISOCHRONE_KINDS)
            )
        put(self, "speed_kmh", float(MODE_SPEEDS_KMH[self.mode] if self.speed_kmh is None else self.speed_kmh))
        for name in ("minutes", "speed_kmh", "max_snap_m", "street_side_m", "gap_cell_m", "site_spacing_m"):
            if not float(getattr(self, name)) > 0:
                raise InputError("options_not_positive", name=name, value=getattr(self, name))
            put(self, name, float(getattr(self, name)))
        put(self, "bands", tuple(sorted({float(b) for b in self.bands})))
        put(self, "isochrones", tuple(self.isochrones))
        if self.categories is not None:
            put(self, "categories", tuple(self.categories))
        for name in ("category_minutes", "category_capacity", "category_speed"):
            put(self, name, _pairs(getattr(self, name), name.replace("_", " ")))
        put(self, "groups", tuple(g if isinstance(g, Group) else Group(*g) for g in self.groups))
        put(self, "n_sites", int(self.n_sites))

    def thresholds(self) -> dict[str, float]:
        """Each category's threshold in minutes: GB 50180-2018's, then ``category_minutes`` over them."""
        return {**CATEGORY_MINUTES, **dict(self.category_minutes)}

    def category_options(self) -> dict[str, dict[str, float]]:
        """The per-category options as ``run_circle`` took them as keywords (``category_minutes`` ...)."""
        return {
            name: dict(getattr(self, name))
            for name in ("category_minutes", "category_capacity", "category_speed")
            if getattr(self, name)
        }

    def replace(self, **changes: Any) -> CircleOptions:
        """A copy with ``changes`` (``dataclasses.replace``; a new mode resets an unchanged speed to its own).

        Examples
        --------
        >>> CircleOptions().replace(minutes=10).minutes
        10.0
        """
        if "mode" in changes and "speed_kmh" not in changes:
            changes["speed_kmh"] = None
        return replace(self, **changes)

    def record(self) -> dict[str, Any]:
        """The options as plain JSON values, for provenance and the workspace's records.

        Examples
        --------
        >>> r = CircleOptions(groups=[("60岁以上", 3.2)]).record()
        >>> r["speed_kmh"], r["groups"]
        (4.5, ['60岁以上=3.2'])
        """
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("category_minutes", "category_capacity", "category_speed"):
            out[name] = dict(out[name])
        out["bands"], out["isochrones"] = list(self.bands), list(self.isochrones)
        out["categories"] = None if self.categories is None else list(self.categories)
        out["groups"] = [f"{g.column}={g.speed_kmh:g}" if g.speed_kmh else g.column for g in self.groups]
        return out

    def sha256(self) -> str:
        """A hash of the options (equal options, equal hash).

        Examples
        --------
        >>> CircleOptions().sha256() == CircleOptions(speed_kmh=4.5).sha256()
        True
        """
        return hashlib.sha256(json.dumps(self.record(), sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    @classmethod
    def of(cls, options: CircleOptions | None = None, **changes: Any) -> CircleOptions:
        """``options`` (default: the defaults) with ``changes``; unknown names refused with the known ones.

        Examples
        --------
        >>> CircleOptions.of(None, minutes=10, n_sites=0).n_sites
        0
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise TypeError(f"unknown circle option(s) {unknown}; the options are {sorted(known)}")
        base = options if options is not None else cls()
        return base.replace(**changes) if changes else base


def categories_options(categories: pd.DataFrame | None) -> dict[str, dict[str, float]]:
    """``CircleOptions``' category fields from a categories table (``geo.read_categories``, ``run --categories``).

    Parameters
    ----------
    categories
        The table (index: category; ``minutes``, ``capacity``, ``speed_kmh``), or None.

    Returns
    -------
    dict
        ``category_minutes``, ``category_capacity`` and ``category_speed`` (those given); empty for None.
    """
    if categories is None:
        return {}
    return {
        "category_minutes": categories["minutes"].to_dict(),
        "category_capacity": categories["capacity"].dropna().to_dict(),
        "category_speed": categories["speed_kmh"].dropna().to_dict(),
    }
