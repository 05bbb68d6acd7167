"""Files only the server's user may read: the data folder, the database and stored media.

The database holds quarantined card numbers and the media customers' documents, and a
help desk often runs on a shared server. Modes are set explicitly after creation, so a
permissive umask cannot widen them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` as a folder; each folder made here (``path`` and missing parents) is
    ``0700``. An existing folder is left as it is: it may be one the user chose and
    shares on purpose."""
    if path.is_dir():
        return path
    if path.parent != path:
        private_dir(path.parent)
    try:
        path.mkdir()
    except FileExistsError:
        if not path.is_dir():
            raise
        return path  # made by a process beside us
    os.chmod(path, FOLDER_MODE)
    return path


def make_private(path: Path) -> None:
    """Create ``path`` empty if missing; in any case make it ``0600``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def open_private(path: Path) -> BinaryIO:
    """``path`` opened for writing from empty, ``0600`` whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "wb")
