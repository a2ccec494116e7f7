"""A project's name by content: the SHA-256 of each input file, with the options it was read with.

A source that is not a file (an OpenStreetMap place or box, a prepared network's entry) is named by its text.
A network walled by gated compounds (issue 30) is named with its compounds and gates (``project_for``'s ``walls``).

Examples
--------
>>> from geo import sample_paths
>>> key = project_key(network=sample_paths()["network"], facilities=(sample_paths()["facilities"], "crs=auto"),
...                   residents=sample_paths()["demand"], units=sample_paths()["boundaries"], label="sample")
>>> key.key == project_key(network=sample_paths()["network"], facilities=(sample_paths()["facilities"], "crs=auto"),
...                        residents=sample_paths()["demand"], units=sample_paths()["boundaries"]).key
True
>>> len(key.key), source_sha("osm:Monaco") == source_sha("osm:Monaco", "x")
(64, False)
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from geo import sample_paths
from geo.io import BUNDLED_BOUNDARIES
from quarterhour.workspace.records import ProjectKey

__all__ = ["project_for", "project_key", "source_sha"]

Source = str | Path | tuple[str | Path, str]


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_sha(source: str | Path, options: str = "") -> str:
    """The SHA-256 naming one input: its file's content (or its text, if it is no file) and the reading options."""
    path = Path(source)
    try:
        named = f"file:{_file_sha256(path)}" if path.is_file() else f"text:{source}"
    except OSError:  # a name too long or otherwise no path: it is text
        named = f"text:{source}"
    return hashlib.sha256(f"{named}|{options}".encode()).hexdigest()


def _sha(source: Source) -> str:
    return source_sha(*source) if isinstance(source, tuple) else source_sha(source)


def project_key(
    *, network: Source, facilities: Source, residents: Source, units: Source, label: str = ""
) -> ProjectKey:
    """The project of four inputs, each a path or text, or ``(path or text, reading options)``."""
    return ProjectKey(_sha(network), _sha(facilities), _sha(residents), _sha(units), label)


def project_for(
    network: str | Path | None,
    facilities: str | Path | None,
    residents: str | Path | None,
    units: str | Path | None,
    *,
    facilities_crs: str = "auto",
    demand_crs: str = "auto",
    demand_total: float | None = None,
    walls: tuple[str | Path | None, str | Path | None] | None = None,
) -> ProjectKey:
    """The project of the inputs as the app and the CLI take them: None (or ``sample``) for the sample's file.

    ``units`` may also name a bundled set (``luoyang``). The app and ``quarterhour scenarios import`` find
    the same project for the same files read the same way.

    ``walls``: the gated compounds and their gates (issue 30), each a file or None. They wall the network:
    walked on, it is another network, so they are part of the network's name (each file by its content).
    Without compounds the name is as it always was: the projects saved before keep their key.

    Examples
    --------
    >>> from geo import sample_paths
    >>> project_for(None, None, None, None).key == project_for(sample_paths()["network"], "sample", None, None).key
    True
    >>> open_ = project_for(None, None, None, None)
    >>> walled = project_for(None, None, None, None, walls=(sample_paths()["boundaries"], None))
    >>> walled.key != open_.key, walled.facilities == open_.facilities
    (True, True)
    >>> project_for(None, None, None, None, walls=(None, None)) == open_  # no compounds: the key as before
    True
    """
    paths = sample_paths()

    def source(value: str | Path | None, role: str) -> str:
        return str(paths[role]) if value in (None, "sample") else str(value)

    total = None if demand_total is None else float(demand_total)
    compounds, gates = walls or (None, None)
    walled = ""  # issue 30: the compounds and their gates, by content (none: the key as before)
    if compounds not in (None, "sample"):
        walled = f"compounds={source_sha(compounds)};gates={'' if gates in (None, 'sample') else source_sha(gates)}"
    return project_key(
        network=(source(network, "network"), walled) if walled else source(network, "network"),
        facilities=(source(facilities, "facilities"), f"crs={facilities_crs}"),
        residents=(source(residents, "demand"), f"crs={demand_crs};total={total}"),
        units=str(BUNDLED_BOUNDARIES.get(str(units), source(units, "boundaries"))),
        label=" | ".join(Path(str(v)).name for v in (network, facilities, residents, units, compounds, gates) if v)
        or "sample",
    )
