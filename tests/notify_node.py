"""A node that only delivers notifications, run as its own process so a test can kill it.

`python -m tests.notify_node '<json>'` with database_url, nats_url, consumer, vapid, node_id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from cowork.clock import SystemClock
from cowork.config import Environment, NotifySettings, Settings
from cowork.metrics import Metrics
from cowork.notify.worker import DeliveryWorker
from cowork.realtime.bus import Bus
from cowork.store.db import init_orm


async def main(config: dict[str, str]) -> None:
    settings = Settings(
        env=Environment.TEST,
        database_url=config["database_url"],
        nats_url=config["nats_url"],
        jwt_secret="x" * 32,
        node_id=config["node_id"],
        db_pool_size=4,
        notify=NotifySettings(
            consumer=config["consumer"],
            vapid_private_key=config["vapid"],
            ack_wait_seconds=float(config["ack_wait"]),
        ),
    )
    await init_orm(settings)
    bus = Bus(settings.nats_url, settings.node_id)
    await bus.connect()
    worker = DeliveryWorker(settings, SystemClock(), bus, Metrics())
    await worker.start()
    print("ready", flush=True)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    asyncio.run(main(json.loads(sys.argv[1])))
