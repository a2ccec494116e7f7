"""The ``--out`` folder: claimed by one command at a time, checked before the work, never left half written.

- ``claim`` holds the folder for one command: it refuses a path that is a file or a
  folder that cannot be written (before any computation), takes an exclusive lock
  (``flock`` on the folder itself: the kernel drops it when a process dies, even by
  ``kill -9``, so a killed run never blocks the next), refuses a folder another command
  is writing, and removes the temporary files a killed run of ours left there.
- ``temp_beside`` is the one way a file is written next to its target before the
  rename (``quarterhour.gis.export``): ``.<stem>-XXXXXXXX<suffix>``, the pattern ``claim`` cleans up.
- ``building`` writes a folder (the review pack) as a hidden temporary folder beside the
  target, ``.<name>.pack-XXXXXXXX``, and swaps it in whole with one rename
  (``renameat2(RENAME_EXCHANGE)`` on Linux, ``renamex_np(RENAME_SWAP)`` on macOS): a killed
  or failed build leaves the old folder as it was.
- ``settle_mode`` gives a file the permissions the umask asks for (``mkstemp`` and
  ``mkdtemp`` make them private).
- ``safe_part`` is the one way a file or folder name is made from data (a unit's code and name, a
  pack's, a batch unit's, a download's): one plain name that cannot leave its parent, short enough
  for any file system; ``inside`` joins a name from data to its parent folder and refuses any other.
- ``out_path`` is the type of every ``--out``: an empty one is refused.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from geo import InputError

try:
    import fcntl
except ImportError:  # Windows: no flock; the folder is then not locked
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MAX_NAME_BYTES",
    "building",
    "claim",
    "disk_full",
    "exists_error",
    "inside",
    "out_path",
    "safe_part",
    "settle_mode",
    "temp_beside",
    "temp_of",
    "write_error",
]

_RANDOM = "[a-z0-9_]{8}"  # tempfile's random part
_SQLITE_SIDECARS = "(-journal|-wal|-shm)?"  # GDAL writes a GeoPackage through SQLite
_FULL_BYTES = 1 << 20  # a write failed with less free than this: the disk is full


#: A name made from data is at most this many bytes of UTF-8: file systems allow 255, and the temporary
#: files written beside it add a prefix and a suffix (``temp_beside``).
MAX_NAME_BYTES = 160


def out_path(text: str) -> Path:
    """The ``--out`` argument: a path, never an empty one (it would write into the current folder).

    Examples
    --------
    >>> out_path("results")
    PosixPath('results')
    """
    if not text.strip():
        import argparse

        raise argparse.ArgumentTypeError("is empty: give a folder, e.g. --out results (it is created if missing)")
    return Path(text)


def safe_part(text: object, *, fallback: str = "unit", max_bytes: int = MAX_NAME_BYTES) -> str:
    r"""One file or folder name from data: never a path, never hidden or empty, at most ``max_bytes`` of UTF-8.

    Everything but letters, digits, ``-``, ``_`` and ``.`` becomes ``_`` (slashes, control characters,
    ``<>:"|?*``, spaces), runs of ``_`` become one, and leading or trailing ``_-.`` go, so ``..`` and
    an absolute path become plain names. A name too long for a file system (a 4-byte character is four
    bytes) is cut at a character's end.

    Parameters
    ----------
    text
        A code, a name, or both joined.
    fallback
        The name when nothing is left.
    max_bytes
        The name's length at most, in bytes of UTF-8.

    Examples
    --------
    >>> safe_part("../../victim"), safe_part("/etc/passwd"), safe_part("a\x01b"), safe_part("..")
    ('victim', 'etc_passwd', 'a_b', 'unit')
    >>> len(safe_part("𝔘" * 300).encode())
    160
    """
    name = re.sub(r"[^\w\-.]+|_+", "_", str(text), flags=re.UNICODE).strip("_-.")
    name = re.sub(r"\.{2,}", ".", name)
    while len(name.encode("utf-8")) > max_bytes:
        name = name[:-1]
    return name.rstrip("_-.") or fallback


def inside(parent: str | Path, name: str) -> Path:
    """``parent / name`` for a name made from data, refused unless it is one plain name (``safe_part``'s).

    Parameters
    ----------
    parent
        The folder it is written in.
    name
        A file or folder name from data.

    Raises
    ------
    InputError
        ``name`` is not what ``safe_part`` makes of it: a path, ``..``, a control character, too long.

    Examples
    --------
    >>> inside("out", "MC-D1")
    PosixPath('out/MC-D1')
    """
    if not name or safe_part(name, fallback="") != name:
        raise InputError(
            "outdir_name_from_data_cannot",
            file=str(parent),
            name=safe_part(name, max_bytes=60),
            max_name_bytes=MAX_NAME_BYTES,
        )
    path = Path(parent) / name
    assert path.parent == Path(parent), path  # one name: it cannot leave its parent
    return path


def umask() -> int:
    """The process's umask, read without changing it where the system allows (threads share it)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def settle_mode(path: str | Path, *, folder: bool = False) -> None:
    """Give ``path`` the permissions a file (or folder) made by ``open`` (``mkdir``) would have under the umask.

    Parameters
    ----------
    path
        A file or folder made private by ``mkstemp`` or ``mkdtemp``.
    folder
        ``path`` is a folder (``0o777`` before the umask, not ``0o666``).
    """
    os.chmod(path, (0o777 if folder else 0o666) & ~umask())


def exists_error(path: Path) -> InputError:
    """The refusal of an output file that is already there (without ``--force``)."""
    return InputError("outdir_output_file_already_exists", file=str(path))


def disk_full(path: str | Path) -> bool:
    """Whether the disk ``path`` is written to has (almost) no room left."""
    try:
        return shutil.disk_usage(Path(path).absolute().parent).free < _FULL_BYTES
    except OSError:
        return False


def write_error(path: Path, exc: Exception) -> InputError:
    """A write that failed (full disk, file size limit, permissions), said without a traceback.

    Call it while the failed write's temporary file is still there: a disk it filled is named as full.
    """
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    if isinstance(exc, OSError) and exc.errno == errno.ENAMETOOLONG:
        return InputError(
            "outdir_cannot_write_output_reason_2", file=str(path)[-120:], reason=reason, max_name_bytes=MAX_NAME_BYTES
        )
    if disk_full(path):
        reason = os.strerror(errno.ENOSPC)  # GDAL says "Failed to commit transaction"
    return InputError("outdir_cannot_write_output_reason", file=str(path), reason=reason)


def temp_beside(path: Path) -> str:
    """A new private temporary file next to ``path`` (``.<stem>-XXXXXXXX<suffix>``), closed; its path.

    Parameters
    ----------
    path
        The file it will be renamed to.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    return tmp


def temp_of(name: str, files: Sequence[str]) -> bool:
    """Whether ``name`` is a temporary file ``temp_beside`` made for one of ``files`` (left by a killed run).

    Examples
    --------
    >>> temp_of(".coverage-k1ll3d00.gpkg-journal", ["coverage.gpkg"]), temp_of(".coverage.gpkg.bak", ["coverage.gpkg"])
    (True, False)
    """
    for file in files:
        p = Path(file)
        if re.fullmatch(rf"\.{re.escape(p.stem)}-{_RANDOM}{re.escape(p.suffix)}{_SQLITE_SIDECARS}", name):
            return True
    return False


def _leftovers(folder: Path, files: Sequence[str]) -> Iterator[Path]:
    """Our temporary files for ``files`` in ``folder``, and our temporary pack folders beside ``folder``."""
    yield from (f for f in folder.iterdir() if temp_of(f.name, files))
    pack = re.compile(rf"\.{re.escape(folder.name)}\.pack-{_RANDOM}")
    yield from (f for f in folder.parent.iterdir() if pack.fullmatch(f.name) and f.is_dir())


def _clean(folder: Path, files: Sequence[str]) -> None:
    """Remove what killed runs of ours left in (and beside) ``folder``; call holding its lock."""
    for leftover in list(_leftovers(folder, files)):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)


def _lock(folder: Path) -> int | None:
    """An open descriptor holding ``folder``'s exclusive lock; refused at once if another process holds it."""
    if fcntl is None:
        return None
    while True:
        try:
            fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except FileNotFoundError:  # removed meanwhile
            folder.mkdir(parents=True, exist_ok=True)
            continue
        except OSError as exc:
            raise InputError(
                "outdir_output_folder_cannot_opened", file=str(folder), exc_strerror_or=exc.strerror or exc
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError("outdir_another_quarterhour_command_writing", file=str(folder)) from None
        with contextlib.suppress(FileNotFoundError):
            if os.path.samestat(os.stat(folder), os.fstat(fd)):
                return fd
        os.close(fd)  # the folder was swapped or removed meanwhile: lock the one there now
        folder.mkdir(parents=True, exist_ok=True)


def _make(folder: Path) -> bool:
    """Create ``folder`` (and its parents) if missing; whether it was created here. Refuses a file."""
    is_file = InputError("outdir_output_path_file_not", file=str(folder))
    if folder.exists() and not folder.is_dir():
        raise is_file
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        if not folder.is_dir():  # made a file meanwhile
            raise is_file from None
        return False
    except NotADirectoryError:
        raise InputError("outdir_output_folder_cannot_made", file=str(folder)) from None
    except OSError as exc:
        raise InputError(
            "outdir_output_folder_cannot_made_2", file=str(folder), exc_strerror_or=exc.strerror or exc
        ) from None
    return True


def _writable(folder: Path, out: Path) -> None:
    """Refuse a folder no file can be created in (permissions, a read-only disk), before any work."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise InputError(
            "outdir_output_folder_not_writable", file=str(out), exc_strerror_or=exc.strerror or exc
        ) from None


@contextlib.contextmanager
def claim(out: str | Path, *, files: Sequence[str] = (), force: bool = False, pack: bool = False) -> Iterator[Path]:
    """Hold the ``--out`` folder for one command, from before the work until its files are written.

    Parameters
    ----------
    out
        The folder (created if missing; removed again if the command leaves it empty).
    files
        The files the command writes into it: refused if there unless ``force``; their
        temporary files left by killed runs are removed.
    force
        Accept existing ``files`` (they are replaced when written).
    pack
        The folder is swapped in whole (``building``): its parent must be writable too.

    Yields
    ------
    Path
        ``out``, locked against every other quarterhour command until the block ends.

    Raises
    ------
    InputError
        ``out`` is a file, cannot be made or written, another command is writing into it,
        or (without ``force``) one of ``files`` is already there.
    """
    out = Path(out)
    created = _make(out)
    fd = None
    try:
        fd = _lock(out)
        here = out.absolute()  # ``.`` has a name and a parent too
        for folder in (here, here.parent) if pack else (here,):
            _writable(folder, out)
        _clean(here, files)
        taken = [name for name in files if (out / name).exists()]
        if taken and not force:
            raise exists_error(out / taken[0])
        yield out
    finally:
        if created:  # a refused or failed command leaves no empty folder behind
            with contextlib.suppress(OSError):
                out.rmdir()
        if fd is not None:
            os.close(fd)


# --- a folder swapped in whole ----------------------------------------------------------------------------------


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (both must exist); False where the system cannot."""
    libc = ctypes.CDLL(None, use_errno=True)
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        at_fdcwd, rename_exchange = -100, 2
        done = libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        done = libc.renamex_np(os.fsencode(a), os.fsencode(b), 2) == 0  # RENAME_SWAP
    else:
        return False
    if not done:
        err = ctypes.get_errno()
        if err in (22, 38, 45, 95):  # EINVAL, ENOSYS, ENOTSUP/EOPNOTSUPP: the file system cannot swap
            return False
        raise OSError(err, os.strerror(err), str(b))
    return True


def _swap_in(new: Path, out: Path) -> None:
    """Put the folder ``new`` at ``out``; the old ``out`` (if any) ends at ``new``'s path and is removed."""
    if not out.exists():
        os.rename(new, out)
        return
    if not _exchange(new, out):  # two renames: a moment without ``out``, never a mix
        old = new.with_name(new.name + "-old")
        os.rename(out, old)
        os.rename(new, out)
        new = old
    shutil.rmtree(new, ignore_errors=True)


@contextlib.contextmanager
def building(out: Path) -> Iterator[Path]:
    """Build a folder in a hidden temporary folder beside ``out`` and swap it in whole when the block ends.

    A failure (or a kill) before the end leaves ``out`` as it was; the temporary folder is
    removed (or, after a kill, by the next ``claim`` of ``out``). Write errors (a full disk)
    become an ``InputError``. The new folder keeps the old one's permissions, else the umask's.

    Parameters
    ----------
    out
        The folder to replace (or make).

    Yields
    ------
    Path
        The temporary folder to write into.
    """
    out = Path(out).absolute()
    old_mode = stat.S_IMODE(out.stat().st_mode) if out.is_dir() else None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.pack-", dir=out.parent))
    except OSError as exc:
        raise write_error(out, exc) from None
    try:
        yield tmp
        if old_mode is None:
            settle_mode(tmp, folder=True)
        else:
            os.chmod(tmp, old_mode)
        _swap_in(tmp, out)
    except OSError as exc:
        raise write_error(out, exc) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
