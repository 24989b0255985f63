"""The inbox of `cowork dev`'s local mail sink (a Maildir under the data dir): what the
dev-only page /dev/mail lists, newest first, and each message as it was received."""

from __future__ import annotations

import mailbox
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

MAIL_DIR = "mail"
_KEY = re.compile(r"^[\w.,:=-]{1,255}$")


def dev_mail_dir(data_dir: Path) -> Path:
    return data_dir / MAIL_DIR


@dataclass(frozen=True, slots=True)
class SinkMail:
    key: str
    received_at: datetime
    subject: str
    sender: str
    to: str
    text: str
    attachments: tuple[str, ...]


def inbox(data_dir: Path, limit: int = 200) -> list[SinkMail]:
    """The newest `limit` messages the sink received (none when it never ran)."""
    box = _box(data_dir)
    if box is None:
        return []
    mails = []
    for key in box.iterkeys():  # iterating a mailbox yields messages, not keys
        stored = box.get_message(key)
        parsed = message_from_bytes(box.get_bytes(key), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        mails.append(_summary(key, stored.get_date(), parsed))
    mails.sort(key=lambda m: (m.received_at, m.key), reverse=True)
    return mails[:limit]


def raw(data_dir: Path, key: str) -> bytes | None:
    """One message's bytes as received, or None for a key the inbox does not have."""
    box = _box(data_dir)
    if box is None or not _KEY.match(key):
        return None
    try:
        return box.get_bytes(key)
    except KeyError:
        return None


def _box(data_dir: Path) -> mailbox.Maildir | None:
    path = dev_mail_dir(data_dir)
    if not (path / "cur").is_dir():
        return None
    return mailbox.Maildir(path, create=False)


def _summary(key: str, delivered: float, msg: EmailMessage) -> SinkMail:
    body = msg.get_body(("plain",))
    text = body.get_content() if body is not None else ""
    names = tuple(part.get_filename() or "" for part in msg.iter_attachments())
    return SinkMail(
        key=key,
        received_at=datetime.fromtimestamp(delivered, UTC),
        subject=str(msg.get("Subject", "")),
        sender=str(msg.get("From", "")),
        to=str(msg.get("To", "")),
        text=text if isinstance(text, str) else "",
        attachments=names,
    )
