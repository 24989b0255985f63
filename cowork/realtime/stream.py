"""The JetStream stream every event lives in, and its retention."""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from cowork.config import Settings

log = logging.getLogger("cowork.realtime.stream")

STREAM = "COWORK"
SUBJECTS = "cowork.>"


def stream_config(settings: Settings) -> StreamConfig:
    max_age = settings.stream_max_age_seconds
    return StreamConfig(
        name=STREAM,
        subjects=[SUBJECTS],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=max_age,
        max_msgs=settings.stream_max_msgs,
        max_bytes=settings.stream_max_bytes,
        # The window may not exceed the age limit; it is what makes a re-publish harmless.
        duplicate_window=min(settings.stream_duplicate_window_seconds, max_age),
        num_replicas=1,
    )


async def ensure_stream(js: JetStreamContext, settings: Settings) -> None:
    """Create the stream, or bring its limits in line with the settings."""
    wanted = stream_config(settings)
    try:
        info = await js.stream_info(STREAM)
    except NotFoundError:
        await js.add_stream(wanted)
        log.info("created stream %s", STREAM)
        return
    have = info.config
    if (
        have.max_age != wanted.max_age
        or have.max_msgs != wanted.max_msgs
        or have.max_bytes != wanted.max_bytes
        or have.duplicate_window != wanted.duplicate_window
        or list(have.subjects or []) != [SUBJECTS]
    ):
        await js.update_stream(wanted)
        log.info("updated limits of stream %s", STREAM)
