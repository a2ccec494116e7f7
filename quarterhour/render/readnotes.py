"""What was read, in the planner's language: how a file's coordinates were taken (``geo.chinacrs.CrsChoice``).

A judged file also says on how many points the judgement rested, and how many lie beyond the network's
area (outside the study area, not evidence about the coordinate system), naming the first of them.

Examples
--------
>>> from geo.chinacrs import FAR_M, CrsChoice
>>> choice = CrsChoice("gcj02", "judged", {"wgs84": 180.0, "gcj02": 4.0, "bd09": 420.0})
>>> print(coordinate_note("f.xlsx", choice, "en"))
f.xlsx: coordinates judged GCJ-02 (AMap, Tencent) against the streets: 90% within 4 m of a street vs 180 m as WGS-84
>>> print(coordinate_note("f.xlsx", choice, "zh"))
f.xlsx：按路网判定坐标为 GCJ-02（高德、腾讯）：九成点位距街道 4 米以内，按 WGS-84 读为 180 米
>>> counted = CrsChoice("gcj02", "judged", choice.metres, decided=96, beyond=2, beyond_names=("A", "B"))
>>> print(coordinate_note("f.xlsx", counted, "en"))  # doctest: +NORMALIZE_WHITESPACE
f.xlsx: coordinates judged GCJ-02 (AMap, Tencent) against the streets: 90% within 4 m of a street vs 180 m as
WGS-84; judged on the 96 points within 3 km of the streets; 2 points lie beyond the network's area (more than
3 km from every street: outside the study area, not evidence about the coordinate system): A, B
"""

from __future__ import annotations

from geo.chinacrs import FAR_M, SYSTEM_NAMES, CrsChoice
from quarterhour.i18n import t

__all__ = ["coordinate_note"]


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
    text = _how_read(file, choice, lang)
    if choice.how in ("given", "outside"):
        return text
    if choice.decided and choice.how != "far":
        text += t("crs_decided", lang, n=choice.decided, km=FAR_M / 1000)
    if choice.beyond:
        more = choice.beyond > len(choice.beyond_names)
        names = ("、" if lang == "zh" else ", ").join(choice.beyond_names) + ("…" if more else "")
        text += t("crs_beyond", lang, n=choice.beyond, km=FAR_M / 1000, names=names)
    return text


def _how_read(file: str, choice: CrsChoice, lang: str) -> str:
    """The system applied and why (without the counts of points judged and beyond)."""
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
            looks = SYSTEM_NAMES[choice.looks]
            return t("crs_declared_looks", lang, file=file, looks=looks, best=m[choice.looks], wgs=m["wgs84"])
        return t("crs_declared", lang, file=file)
    other = min((s for s in m if s != choice.system), key=m.get)  # judged: against the runner-up
    return t(
        "crs_judged",
        lang,
        file=file,
        system=t(f"crs_{choice.system}", lang),
        best=m[choice.system],
        second=m[other],
        other=SYSTEM_NAMES[other],
    )
