"""Atomic file writes that never clobber a user's file by accident.

Every writer in Featherlight goes through :func:`atomic_path`: the data is written to a temporary file
in the destination folder and moved into place with :func:`os.replace`, so a crash never leaves a
half-written file behind, and an existing file is only replaced when the caller says ``overwrite=True``.
Multi-file writers call :func:`check_writable` on all their targets first, so they either write
everything or nothing.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from models.errors import OverwriteError

_UMASK = os.umask(0o022)
os.umask(_UMASK)

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text", "check_writable"]


def check_writable(paths: Iterable[str | os.PathLike], overwrite: bool) -> None:
    """Raise :class:`OverwriteError` listing every path in ``paths`` that already exists.

    Does nothing when ``overwrite`` is true. A path that exists as a directory is always refused.
    """
    existing: list[Path] = []
    directories: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            directories.append(path)
        elif path.exists() and not overwrite:
            existing.append(path)
    if directories:
        names = ", ".join(str(p) for p in directories)
        raise OverwriteError(f"cannot write over a folder: {names}; choose another output name")
    if existing:
        names = ", ".join(str(p) for p in existing)
        noun = "file already exists" if len(existing) == 1 else f"{len(existing)} files already exist"
        raise OverwriteError(
            f"{noun}: {names}; pass overwrite=True (or --overwrite) to replace, or choose another folder"
        )


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is moved onto ``path``, on failure removed.

    The temporary name keeps ``path``'s suffix, so libraries that pick a format from the extension
    (soundfile, pretty_midi) still work. The parent folder is created if needed.
    """
    target = Path(path)
    check_writable([target], overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:  # mkstemp makes the file private; give it the mode a plain open() would
        os.chmod(tmp, 0o666 & ~_UMASK)
    except OSError:
        pass
    try:
        yield tmp
        if not overwrite and target.exists():  # appeared while we were writing
            check_writable([target], overwrite)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path written."""
    target = Path(path)
    with atomic_path(target, overwrite=overwrite) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return target


def atomic_write_text(
    path: str | os.PathLike, text: str, *, overwrite: bool = False, encoding: str = "utf-8"
) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8, newlines as given); returns the path written."""
    return atomic_write_bytes(path, text.encode(encoding), overwrite=overwrite)
