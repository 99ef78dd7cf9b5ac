"""Files that hold patient data (backups, exports): private, complete, never a surprise.

* Created readable by their owner only (0600), whatever the umask.
* Written under a temporary name in the target's folder and moved into place only when
  complete, so a failure never leaves a partial file under the name the operator chose.
* Never written through a symbolic link, and never over an existing file unless asked:
  moving into place uses a hard link, which fails if the name exists in any form.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from pathlib import Path

from data.errors import InvalidInput

__all__ = ["check_new_target", "discard", "place", "private_temp_file"]


def check_new_target(target: Path, *, replace: bool = False) -> None:
    """Refuse a ``target`` that is a symbolic link, exists (unless ``replace``), or has no folder.

    Raises
    ------
    InvalidInput
        With what is wrong and what to do.
    """
    if target.is_symlink():
        raise InvalidInput(
            [
                f"{target} is a symbolic link; name a new file (patient data is never written "
                "through a link)"
            ]
        )
    if target.exists() and not replace:
        raise InvalidInput([f"{target} exists already; choose a new file name"])
    if target.exists() and not target.is_file():
        raise InvalidInput([f"{target} is not a file; name a new file"])
    if not target.parent.is_dir():
        raise InvalidInput([f"the folder {target.parent} does not exist"])


def private_temp_file(target: Path) -> tuple[int, Path]:
    """Open a new, empty temporary file beside ``target``, readable by its owner only.

    Returns
    -------
    (int, Path)
        An open descriptor for writing, and the file's name (``.<target name>.<random>.part``).
    """
    while True:
        temp = target.parent / f".{target.name}.{secrets.token_hex(6)}.part"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
            return os.open(temp, flags, 0o600), temp
        except FileExistsError:  # pragma: no cover - 48 random bits taken already
            continue


def place(temp: Path, target: Path, *, replace: bool = False) -> None:
    """Move the complete file ``temp`` to ``target`` in one step, then forget ``temp``.

    Without ``replace``, an existing ``target`` (a file, a link, anything) is refused: the
    move is a hard link, which never replaces a name nor follows a link. With ``replace``, the
    name is swapped atomically (:func:`os.replace`), a link itself replaced, never followed.

    Raises
    ------
    FileExistsError
        ``target`` exists (without ``replace``); ``temp`` is left for the caller to discard.
    """
    if replace:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target, follow_symlinks=False)
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # A file system without hard links: copy into a file that must be new.
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with open(temp, "rb") as source, os.fdopen(os.open(target, flags, 0o600), "wb") as out:
            shutil.copyfileobj(source, out)
            out.flush()
            os.fsync(out.fileno())
    temp.unlink()


def discard(path: Path | None) -> None:
    """Remove a temporary file or folder if it is there; never fails."""
    if path is None:
        return
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass
