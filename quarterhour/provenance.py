"""What produced a result: parameters, input files with their SHA-256, software version and date.

``provenance`` makes the record every export carries; ``provenance_metadata``
flattens it to the text key/values of GeoPackage metadata. Both are named in
``quarterhour.gis.export`` too.

Inputs are named as the planner knows them, never by a server path: a file by
its name (or, for an upload kept under a hashed name, the planner's name given
in ``names``), a prepared network of the store by its source file's name and
SHA-256 (from the store's manifest), an OpenStreetMap download by its place.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from geo._validate import clean_text
from geo.filehash import file_sha256
from quarterhour import __version__

__all__ = ["file_sha256", "options_record", "provenance", "provenance_metadata", "yardstick_of", "yardstick_record"]


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


#: A name the server gave an upload: the SHA-256 of its bytes and the planner's ending (``quarterhour.ui.uploads``).
_HASHED = re.compile(r"^[0-9a-f]{64}(\.[\w.]+)?$")
_STORE = "store:"  #: a prepared network of the store, by its entry's folder (``quarterhour.ui.values.STORE``)


def _shown_name(name: str, given: str | None) -> str:
    """The name a record gives a file: the planner's (``given``), else its own unless the server hashed it."""
    if given:
        return Path(given).name
    name = Path(name).name
    return f"upload{m.group(1) or ''}" if (m := _HASHED.match(name)) else name


def _input_record(value: str | Path, given: str | None) -> dict[str, Any]:
    """One input's record: ``file``, ``sha256``, ``bytes``; or ``source`` for what is not a file (no server path)."""
    text = str(value)
    if text.startswith(_STORE):
        try:
            source = json.loads((Path(text[len(_STORE) :]) / "manifest.json").read_text(encoding="utf-8"))["source"]
            name = _shown_name(source.get("name") or Path(source.get("path", "")).name, given)
            return {"file": name, "sha256": source["sha256"], "bytes": source.get("bytes"), "prepared": True}
        except (OSError, ValueError, KeyError, TypeError):
            return {"source": given or "prepared network"}
    if text.startswith(("osm:", "bbox:")):
        return {"source": f"OpenStreetMap download: {text.split(':', 1)[1]}"}
    p = Path(value)
    if p.is_file():
        return {"file": _shown_name(p.name, given), "sha256": file_sha256(p), "bytes": p.stat().st_size}
    return {"source": given or (p.name if ("/" in text or "\\" in text) else text)}


def provenance(
    parameters: Mapping[str, Any],
    inputs: Mapping[str, str | Path | None],
    *,
    names: Mapping[str, str] | None = None,
    created: dt.datetime | None = None,
) -> dict[str, Any]:
    """What produced a result: parameters, input files with their SHA-256, software version and date.

    Parameters
    ----------
    parameters
        The options the result was made with (name -> value); paths become text, NumPy scalars numbers.
    inputs
        A role (``network``, ``facilities`` ...) -> a file path, or ``store:<entry folder>``
        (a prepared network: named by its source file, with that file's SHA-256). ``None``
        roles are left out; a role whose value is not a file (e.g. an OpenStreetMap
        download) is kept as given without a hash, and never as a server path.
    names
        A role -> the planner's file name, where the file is kept under another
        name (an upload stored by its hash, ``quarterhour.ui.uploads``): the record names it so.
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
    files = {role: _input_record(path, (names or {}).get(role)) for role, path in inputs.items() if path is not None}
    for record in files.values():  # a file's name is text the outputs show: cleaned of control characters
        for field in ("file", "source"):
            if field in record:
                record[field] = clean_text(str(record[field]))
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


def options_record(options: Any, keys: tuple[str, ...] | None = None) -> dict[str, Any]:
    """A run's options as its provenance and the workspace record them: every option, and the yardstick's words.

    The one place a record of the options is written (issue 25): the app's provenance, batch's, the workspace's
    saved parameters take theirs from it.

    Parameters
    ----------
    options
        The run's ``analysis.options.CircleOptions``.
    keys
        The options a face records (each face has its own; a pack's table labels them); None: every one.

    Returns
    -------
    dict
        ``CircleOptions.record()`` and ``yardstick`` (``yardstick_record``), of ``keys``.

    Examples
    --------
    >>> from analysis.options import CircleOptions
    >>> r = options_record(CircleOptions(minutes=10))
    >>> r["minutes"], r["speed_kmh"], r["yardstick"]["circles_m"]
    (10.0, 4.5, {'10': 750.0})
    """
    record = {**options.record(), "yardstick": yardstick_record(options.yardstick, options.minutes)}
    return record if keys is None else {key: record[key] for key in keys}


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
