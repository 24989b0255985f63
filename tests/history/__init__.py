"""Operation histories (Jepsen-style, small): record a storm, then check it.

    history = History()
    op = await history.call(http, "hold", "POST", url, json_body=slot, headers=h,
                            space_id=s, user_id=u)
    async with StreamRecorder(node_urls, f"/api/v1/streams/locations/{loc}") as stream:
        ...storm...
    report = await check(history, Scope(db, nats_url, [loc], [stream]))
    assert report.ok, report

Group commit and later work rerun the same storms (tests.history.storms) with the same checker.
"""

from tests.history.check import Report, Scope, check
from tests.history.record import History, Op, StreamRecorder

__all__ = ["History", "Op", "Report", "Scope", "StreamRecorder", "check"]
