"""Files only this user can read: written whole (a temporary file beside, then ``os.replace``) or not at all.

Used for what a server keeps for its planners (uploads, a workspace's kept inputs) and for a user's
sign-in tokens. ``tempfile.mkstemp`` makes the temporary file 0600 whatever the umask, and ``os.replace``
keeps that mode, so the file is never readable by others, not even for a moment.

Examples
--------
>>> import stat, tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> path = write_private(folder / "kept.bin", b"data")
>>> path.read_bytes(), oct(stat.S_IMODE(path.stat().st_mode)), sorted(p.name for p in folder.iterdir())
(b'data', '0o600', ['kept.bin'])
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_private"]


def write_private(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` (its folder must exist), 0600, atomically; replaces a file already there.

    Parameters
    ----------
    path
        The file to write.
    data
        Its bytes.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OSError
        The folder cannot be written (disk full, no permission); nothing is left behind.
    """
    path = Path(path)
    fd, part = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(part, path)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    return path
