"""A local cluster: embedded services, N single-worker nodes and HAProxy in front (DESIGN §1, §9).

`cowork cluster --nodes N` (`make cluster`, `run.py`) runs it all from one command and
supervises it. The Procfile runs the same pieces as separate processes (`roles.py`):

    cowork cluster stack               PostgreSQL, NATS, localstripe; migrate, seed
    cowork cluster node <i>            node-<i> on port base+i, once the stack is up
    cowork cluster haproxy --nodes N   haproxy.cfg + the generated server list

Where the files and ports are: `layout.py`; HAProxy's command line and server list:
`haproxy.py`.
"""
