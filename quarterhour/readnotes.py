"""What was read, in the planner's language: how a file's coordinates were taken (``geo.chinacrs.CrsChoice``).

Examples
--------
>>> from geo.chinacrs import CrsChoice
>>> choice = CrsChoice("gcj02", "judged", {"wgs84": 180.0, "gcj02": 4.0, "bd09": 420.0})
>>> print(coordinate_note("f.xlsx", choice, "en"))
f.xlsx: coordinates judged GCJ-02 (AMap, Tencent) against the streets: 90% within 4 m of a street vs 180 m as WGS-84
>>> print(coordinate_note("f.xlsx", choice, "zh"))
f.xlsx：按路网判定坐标为 GCJ-02（高德、腾讯）：九成点位距街道 4 米以内，按 WGS-84 读为 180 米
"""

from __future__ import annotations

from geo.chinacrs import CrsChoice
from quarterhour.i18n import t

__all__ = ["coordinate_note"]

_SHORT = {"wgs84": "WGS-84", "gcj02": "GCJ-02", "bd09": "BD-09"}


def coordinate_note(file: str, choice: CrsChoice, lang: str = "zh") -> str:
    """One line saying how ``file``'s coordinates were read, and why.

    Parameters
    ----------
    file
        The file's name, as the planner knows it.
    choice
        What ``geo.chinacrs.settle_coordinate_system`` did.
    lang
        ``"zh"`` or ``"en"``.

    Returns
    -------
    str
        The note.
    """
    m = choice.metres
    if choice.how == "given":
        system = choice.system if choice.system.startswith("EPSG:") else t(f"crs_{choice.system}", lang)
        return t("crs_given", lang, file=file, system=system)
    if choice.how == "outside":
        return t("crs_outside", lang, file=file)
    if choice.how == "far":
        return t("crs_far", lang, file=file, best=min(m.values()))
    if choice.how == "declared":
        if choice.looks:
            return t(
                "crs_declared_looks", lang, file=file, looks=_SHORT[choice.looks], best=m[choice.looks], wgs=m["wgs84"]
            )
        return t("crs_declared", lang, file=file)
    other = min((s for s in m if s != choice.system), key=m.get)  # judged: against the runner-up
    return t(
        "crs_judged",
        lang,
        file=file,
        system=t(f"crs_{choice.system}", lang),
        best=m[choice.system],
        second=m[other],
        other=_SHORT[other],
    )
