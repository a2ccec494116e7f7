"""Yardsticks: what "within 15 minutes" means, as minutes at a speed or as a walking distance.

Two kinds, one travel-time engine:

- ``minutes`` (the default): minutes of walking at ``speed_kmh`` (4.5 km/h, or 1,125 m in 15 minutes).
- ``gb50180``: GB 50180-2018's life circles, judged by network walking distance:
  the 15-minute circle 1,000 m (``gb50180-strict``: 800 m), 10 minutes 500 m, 5 minutes 300 m.

A distance is a time at a speed. A distance yardstick runs the engine at 3.6 km/h,
one metre a second, so every engine second *is* a metre of network walk: a band's
cutoff in engine minutes is its metres / 60 (exact to a float's rounding, 1e-13 m), and each band (and each
category's threshold) keeps its own distance, although 300/500/1,000 m are not one
speed (3.6, 3.0 and 4.0 km/h). Under a distance yardstick the demand's ``minutes``
are engine minutes (metres / 60); ``walk_m`` gives the metres. The walking speed does
not matter, for the total and for every population group.

Examples
--------
>>> ys = yardstick("gb50180")
>>> ys.walk_m(10), ys.engine_kmh, round(ys.cutoff_min(10) * 60, 9)
(500.0, 3.6, 500.0)
>>> yardstick("minutes", speed_kmh=4.5).walk_m(15)
1125.0
>>> yardstick("gb50180-strict").walk_m(15)
800.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from analysis.defaults import WALK_KMH  # issue 32: light, as analysis.options is
from geo.errors import InputError

__all__ = ["DISTANCE_KMH", "GB50180_M", "STANDARDS", "Measured", "Yardstick", "yardstick"]

#: The engine's pace under a distance yardstick: 3.6 km/h is 1 m/s, so seconds are metres.
DISTANCE_KMH = 3.6

#: GB 50180-2018 城市居住区规划设计标准: life circle (minutes) -> network walking distance (metres).
GB50180_M: dict[str, dict[float, float]] = {
    "gb50180": {5.0: 300.0, 10.0: 500.0, 15.0: 1000.0},
    "gb50180-strict": {5.0: 300.0, 10.0: 500.0, 15.0: 800.0},
}

#: The yardsticks by name, the default first.
STANDARDS: tuple[str, ...] = ("minutes", *GB50180_M)


@dataclass(frozen=True)
class Yardstick:
    """A named yardstick: minutes at a speed, or a walking distance per life circle.

    Attributes
    ----------
    name
        One of ``STANDARDS``.
    speed_kmh
        The walking speed of the ``minutes`` yardstick (km/h); not used by a distance yardstick.
    metres
        (minutes, metres) per life circle of a distance yardstick; empty for ``minutes``.
    """

    name: str = "minutes"
    speed_kmh: float = WALK_KMH
    metres: tuple[tuple[float, float], ...] = ()

    @property
    def by_distance(self) -> bool:
        """True for a distance yardstick (GB 50180), where the speed does not matter."""
        return bool(self.metres)

    @property
    def engine_kmh(self) -> float:
        """The speed the travel-time engine runs at: ``speed_kmh``, or 1 m/s for a distance yardstick."""
        return DISTANCE_KMH if self.by_distance else float(self.speed_kmh)

    def cutoff_min(self, minutes: float) -> float:
        """The engine threshold (minutes at ``engine_kmh``) for a life circle of ``minutes``.

        Parameters
        ----------
        minutes
            The life circle (5, 10, 15 under GB 50180; any under ``minutes``).

        Returns
        -------
        float
            Minutes at ``engine_kmh``: ``minutes`` itself, or the circle's metres / 60.

        Raises
        ------
        InputError
            A distance yardstick asked for a circle it does not define.
        """
        if not self.by_distance:
            return float(minutes)
        return self._metres(minutes) / 60

    def walk_m(self, minutes: float) -> float:
        """The network walk in metres a life circle of ``minutes`` allows."""
        if self.by_distance:
            return self._metres(minutes)
        return float(minutes) * 60 * self.speed_kmh / 3.6

    def cutoffs(self, minutes: Mapping[str, float], speeds: Mapping[str, float] | None = None) -> dict[str, float]:
        """``cutoff_min`` of each value (e.g. category -> minutes), keys kept; a key in ``speeds`` at its own speed.

        Under the minutes yardstick, ``m`` minutes at ``speeds[key]`` km/h are ``m * speeds[key] / speed_kmh``
        engine minutes: the same distance, so the same result as the engine run at that speed (walking times
        scale with 1 / speed, as ``analysis.groups`` uses). A distance yardstick ignores ``speeds``.

        Examples
        --------
        >>> yardstick("minutes", speed_kmh=4.5).cutoffs({"a": 15, "b": 15}, {"b": 3.0})
        {'a': 15.0, 'b': 10.0}
        >>> yardstick("gb50180").cutoffs({"b": 15}, {"b": 3.0})
        {'b': 16.666666666666668}
        """
        own = {} if self.by_distance else dict(speeds or {})
        return {
            key: self.cutoff_min(value) * (own[key] / self.speed_kmh if key in own else 1.0)
            for key, value in minutes.items()
        }

    def _metres(self, minutes: float) -> float:
        table = dict(self.metres)
        if float(minutes) not in table:
            circles = ", ".join(f"{m:g}" for m in table)
            raise InputError(
                "yardstick_name_yardstick_defines_circles", name=self.name, circles=circles, minutes=float(minutes)
            )
        return table[float(minutes)]


def yardstick(name: str = "minutes", *, speed_kmh: float = WALK_KMH) -> Yardstick:
    """The yardstick called ``name`` (one of ``STANDARDS``).

    Parameters
    ----------
    name
        ``minutes`` (minutes at ``speed_kmh``), ``gb50180`` (1,000 m) or ``gb50180-strict`` (800 m).
    speed_kmh
        The walking speed of the ``minutes`` yardstick.

    Returns
    -------
    Yardstick
        The yardstick.
    """
    if name not in STANDARDS:
        raise InputError("yardstick_unknown_yardstick_name", name=name, standards=", ".join(STANDARDS))
    return Yardstick(name, float(speed_kmh), tuple(sorted(GB50180_M.get(name, {}).items())))


class Measured:
    """The yardstick of a value holding ``standard``, ``speed_kmh`` and ``minutes`` (options, the app's panel).

    A mixin: ``analysis.options.CircleOptions`` and the app's ``Params`` read their threshold the same way.
    """

    standard: str
    speed_kmh: float
    minutes: float

    @property
    def yardstick(self) -> Yardstick:
        """The yardstick: minutes at ``speed_kmh``, or GB 50180's walking distances."""
        return yardstick(self.standard, speed_kmh=self.speed_kmh)

    @property
    def cutoff_min(self) -> float:
        """The threshold the travel-time engine is given: ``minutes``, or its distance at 1 m/s."""
        return self.yardstick.cutoff_min(self.minutes)

    @property
    def engine_kmh(self) -> float:
        """The speed the travel-time engine runs at: ``speed_kmh``, or 3.6 km/h (1 m/s) by distance."""
        return self.yardstick.engine_kmh
