"""How many files, and how large, one e-mail of ours may carry.

An e-mail takes several files (WhatsApp one a message). Mail servers refuse a message over
their size cap, commonly 25 MB, and attachments grow by a third in base64: 18 MB of files
in all stays under it. A file over 10 MB is refused on its own, as Gmail and Outlook steer
one to a shared link instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from backend.domain.errors import InvalidField

MB = 1024 * 1024
MAX_FILES = 10
MAX_FILE_BYTES = 10 * MB
MAX_TOTAL_BYTES = 18 * MB


@dataclass(frozen=True, slots=True)
class MailFile:
    name: str
    size: int


def _mb(size: int) -> str:
    return f"{size / MB:.1f} MB"


def check_mail_files(files: Sequence[MailFile], *, field: str) -> None:
    """Refuse (``InvalidField`` on ``field``) files one e-mail cannot carry: too many, one
    too large, or too large together; the message names the file and the limit."""
    if len(files) > MAX_FILES:
        raise InvalidField(
            f"An e-mail takes at most {MAX_FILES} files; this one has {len(files)}.", field=field
        )
    for file in files:
        if file.size > MAX_FILE_BYTES:
            raise InvalidField(
                f"{file.name} is {_mb(file.size)}: an e-mail takes files of at most "
                f"{_mb(MAX_FILE_BYTES)} each (share a larger one by a link).",
                field=field,
            )
    total = sum(file.size for file in files)
    if total > MAX_TOTAL_BYTES:
        raise InvalidField(
            f"The {len(files)} files come to {_mb(total)}: an e-mail takes at most "
            f"{_mb(MAX_TOTAL_BYTES)} of files in all (send some in a second e-mail).",
            field=field,
        )
