"""What produced a result: parameters, input files with their SHA-256, software version and date.

``provenance`` makes the record every export carries; ``provenance_metadata``
flattens it to the text key/values of GeoPackage metadata. Both are named in
``quarterhour.export`` too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from geo._validate import clean_text
from quarterhour import __version__

__all__ = ["file_sha256", "provenance", "provenance_metadata", "yardstick_of", "yardstick_record"]


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """A JSON-ready copy: paths as text (cleaned of control characters, ``clean_text``), numpy scalars as numbers."""
    if isinstance(value, Mapping):
        return {clean_text(str(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path | str):
        return clean_text(str(value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def provenance(
    parameters: Mapping[str, Any],
    inputs: Mapping[str, str | Path | None],
    *,
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    """What produced a result: parameters, input files with their SHA-256, software version and date.

    Parameters
    ----------
    parameters
        The options the result was made with (name -> value); paths become text, NumPy scalars numbers.
    inputs
        A role (``network``, ``facilities`` ...) -> a file path. ``None`` roles are
        left out, and a role whose value is not a file (e.g. an OpenStreetMap
        download) is kept as given, without a hash.
    created
        The date to record; now (local time, to the second) if None.

    Returns
    -------
    dict
        ``software``, ``created`` (ISO 8601), ``parameters`` and ``inputs`` (role ->
        ``file``, ``sha256``, ``bytes``; or ``source``), ready for JSON.

    Examples
    --------
    >>> from geo import sample_paths
    >>> p = provenance({"minutes": 15}, {"facilities": sample_paths()["facilities"]})
    >>> p["software"], p["inputs"]["facilities"]["file"], len(p["inputs"]["facilities"]["sha256"])
    ('quarterhour 0.1.0', 'facilities.geojson', 64)
    """
    files: dict[str, dict[str, Any]] = {}
    for role, path in inputs.items():
        if path is None:
            continue
        p = Path(path)
        if p.is_file():
            files[role] = {"file": clean_text(p.name), "sha256": file_sha256(p), "bytes": p.stat().st_size}
        else:  # a file's name is text the outputs show: cleaned of control characters and stray bytes
            files[role] = {"source": clean_text(str(path))}
    when = created or dt.datetime.now(dt.UTC).astimezone()
    return {
        "software": f"quarterhour {__version__}",
        "created": when.isoformat(timespec="seconds"),
        "parameters": _plain(dict(parameters)),
        "inputs": files,
    }


def yardstick_record(ys: Any, minutes: float) -> dict[str, Any]:
    """The yardstick and its numbers, as the provenance's ``yardstick`` parameter: name, words, speed, metres.

    Parameters
    ----------
    ys
        The run's ``analysis.yardstick.Yardstick``.
    minutes
        The circle's threshold in minutes.

    Returns
    -------
    dict
        ``name``, ``text`` (Chinese / English), ``speed_kmh`` (None: by distance) and ``circles_m``
        (minutes -> metres of network walk).

    Examples
    --------
    >>> from analysis.yardstick import yardstick
    >>> yardstick_record(yardstick("gb50180-strict"), 15)["circles_m"]
    {'5': 300.0, '10': 500.0, '15': 800.0}
    """
    from quarterhour.i18n import yardstick_text  # the words load only when a record is made

    return {
        "name": ys.name,
        "text": f"{yardstick_text(ys, minutes, 'zh')} / {yardstick_text(ys, minutes, 'en')}",
        "speed_kmh": None if ys.by_distance else ys.speed_kmh,
        "circles_m": {f"{m:g}": d for m, d in ys.metres} or {f"{minutes:g}": ys.walk_m(minutes)},
    }


def yardstick_of(prov: Mapping[str, Any] | None) -> Any:
    """The ``analysis.yardstick.Yardstick`` a provenance record names (``yardstick_record``), or None.

    Examples
    --------
    >>> from analysis.yardstick import yardstick
    >>> yardstick_of({"parameters": {"yardstick": yardstick_record(yardstick("gb50180"), 15)}}).walk_m(15)
    1000.0
    >>> yardstick_of({"parameters": {}}) is None
    True
    """
    from analysis.yardstick import STANDARDS, yardstick

    yard = (prov or {}).get("parameters", {}).get("yardstick")
    if not isinstance(yard, Mapping) or yard.get("name") not in STANDARDS:
        return None
    speed = yard.get("speed_kmh")
    return yardstick(yard["name"], **({"speed_kmh": float(speed)} if speed else {}))


def provenance_metadata(prov: Mapping[str, Any]) -> dict[str, str]:
    """Provenance flattened to text key/values (GeoPackage / GDAL metadata).

    Keys: ``software``, ``created``, ``parameters`` (JSON), ``yardstick`` (its words, when the
    parameters name one), one ``input.<role>`` per input (``file sha256:...``), and ``provenance``
    (the whole record as JSON).
    """
    out = {
        "software": str(prov.get("software", "")),
        "created": str(prov.get("created", "")),
        "parameters": json.dumps(prov.get("parameters", {}), ensure_ascii=False, sort_keys=True),
    }
    yard = prov.get("parameters", {}).get("yardstick")
    if isinstance(yard, Mapping):
        out["yardstick"] = str(yard.get("text", ""))
    for role, info in prov.get("inputs", {}).items():
        out[f"input.{role}"] = (
            f"{info['file']} sha256:{info['sha256']}" if "sha256" in info else str(info.get("source", ""))
        )
    out["provenance"] = json.dumps(_plain(prov), ensure_ascii=False, sort_keys=True)
    return out
