"""`cowork dev | serve | migrate | seed | cluster [stack | node I | haproxy]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from types import FrameType

from cowork import bootstrap, logs
from cowork.config import LOCAL_DEFAULTS, ConfigError, Settings, process_environ

log = logging.getLogger("cowork.cli")

Handler = Callable[[argparse.Namespace, Mapping[str, str]], int]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args, process_environ())
    except ConfigError as exc:
        print(f"cowork: configuration error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cowork", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run everything locally on embedded services")
    dev.add_argument("--reset", action="store_true", help="wipe the data dir first")
    dev.add_argument("--port", type=int, default=None)
    dev.set_defaults(handler=_dev)
    serve = commands.add_parser("serve", help="serve one node (settings from the environment)")
    serve.set_defaults(handler=_serve)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(handler=_migrate)
    seed = commands.add_parser("seed", help="insert demo data into an empty database")
    seed.set_defaults(handler=_seed)
    cluster = commands.add_parser("cluster", help="N nodes behind HAProxy on embedded services")
    cluster.add_argument("--nodes", type=int, default=3)
    cluster.set_defaults(handler=_cluster)
    # The same pieces as separate processes, for the Procfile (honcho).
    roles = cluster.add_subparsers(dest="role", metavar="[stack | node I | haproxy]")
    stack = roles.add_parser("stack", help="embedded services; migrate, seed; wait")
    stack.set_defaults(handler=_cluster_stack)
    node = roles.add_parser("node", help="node-I, once the stack is up")
    node.add_argument("index", type=int)
    node.set_defaults(handler=_cluster_node)
    proxy = roles.add_parser("haproxy", help="HAProxy in front of --nodes nodes")
    proxy.add_argument("--nodes", type=int, default=3)
    proxy.set_defaults(handler=_cluster_haproxy)
    return parser


def _serve(_: argparse.Namespace, environ: Mapping[str, str]) -> int:
    settings = Settings.from_env(environ)
    logs.configure(settings.log_json)
    run_server(settings)
    return 0


def run_server(settings: Settings) -> None:
    from cowork.app import create_app

    app = create_app(settings)

    @app.after_server_start
    async def dump_tasks_on_sigusr1(app: object) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, _dump_tasks)

    app.run(
        host=settings.host, port=settings.port, single_process=True, access_log=False, motd=False
    )


def _dump_tasks() -> None:
    """`kill -USR1 <pid>`: print every asyncio task's stack (for a node that will not stop)."""
    for task in asyncio.all_tasks():
        print(f"--- task {task.get_name()}", file=sys.stderr)
        task.print_stack(limit=8, file=sys.stderr)


def _migrate(_: argparse.Namespace, environ: Mapping[str, str]) -> int:
    settings = Settings.from_env(environ)
    logs.configure(settings.log_json)
    applied = asyncio.run(bootstrap.migrate(settings))
    print(f"migrations applied: {applied or 'none pending'}")
    return 0


def _seed(_: argparse.Namespace, environ: Mapping[str, str]) -> int:
    settings = Settings.from_env(environ)
    logs.configure(settings.log_json)
    print(asyncio.run(bootstrap.seed(settings)))
    return 0


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _dev(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from cowork.devstack import embedded_stack, wipe

    # Until the server installs its own handlers, SIGTERM must still unwind `finally` blocks.
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    data_dir = Settings.read({**LOCAL_DEFAULTS, **environ}).data_dir.resolve()
    if args.reset:
        wipe(data_dir)
    settings = bootstrap.local_settings(environ, LOCAL_DEFAULTS, data_dir)
    if args.port:
        settings = replace(settings, port=args.port)
    logs.configure(settings.log_json, third_party=data_dir / "logs" / "third-party.log")
    with embedded_stack(data_dir, settings, mail_sink=True) as stack:
        settings = stack.services.apply(settings).checked()
        asyncio.run(bootstrap.prepare_local(settings))
        _banner(settings)
        run_server(settings)
    return 0


def _banner(settings: Settings) -> None:
    url = f"http://{settings.host}:{settings.port}"
    lines = [
        "",
        f"  cowork is running at {url}",
        f"  Floor map: {url}/          Kiosk: {url}/kiosk?token=<kiosk token>",
        f"  API docs:  {url}/docs   (OpenAPI: {url}/docs/openapi.json)",
        f"  Mail sent: {url}/dev/mail   (the local SMTP sink's inbox)",
        "  Demo logins (password: " + settings.demo_password + "):",
        "    admin@example.com · manager@example.com · member@example.com · member2@example.com",
        "  Ctrl-C stops everything this command started.",
        "",
    ]
    print("\n".join(lines), flush=True)


def _cluster(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from cowork.cluster.run import run_cluster

    return run_cluster(environ, args.nodes)


def _cluster_stack(_: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from cowork.cluster.roles import role_stack

    return role_stack(environ)


def _cluster_node(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from cowork.cluster.roles import role_node

    role_node(environ, args.index)


def _cluster_haproxy(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from cowork.cluster.roles import role_haproxy

    role_haproxy(environ, args.nodes)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
