"""Fault injection for tests: network faults (`proxy`), process faults (`process`), services
a test owns and can break (`services`), and the tally of what was injected (`log`).

    from tests.faults import FaultProxy, kill, paused, tcp_upstream

    pg = FaultProxy(postgres_upstream(database_url)).start()   # nodes connect to pg.port
    pg.blackhole(seconds=5)      # PostgreSQL seems paused: bytes wait, nothing is lost
    pg.cut()                     # every open connection is reset at once
    pg.refuse()                  # ...and new ones too, until pg.heal()
    kill(node.proc)              # SIGKILL; paused(node.proc) is SIGSTOP ... SIGCONT

Every scenario built on these also records its requests in a `tests.history.History` and
ends with `tests.history.check`, which proves the invariants from the database and streams.
docs/reliability.md lists the scenarios and what each one proves.
"""

from tests.faults.log import FAULTS, FaultLog
from tests.faults.process import kill, pause, paused, resume, terminate
from tests.faults.proxy import FaultProxy, Upstream, tcp_upstream
from tests.faults.services import NatsServer, postgres_upstream, proxied_database_url

__all__ = [
    "FAULTS",
    "FaultLog",
    "FaultProxy",
    "NatsServer",
    "Upstream",
    "kill",
    "pause",
    "paused",
    "postgres_upstream",
    "proxied_database_url",
    "resume",
    "tcp_upstream",
    "terminate",
]
