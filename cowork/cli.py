"""`cowork dev | serve | migrate | seed | cluster`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from cowork import logs
from cowork.config import ConfigError, Settings

log = logging.getLogger("cowork.cli")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cowork", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    dev = commands.add_parser("dev", help="run everything locally on embedded services")
    dev.add_argument("--reset", action="store_true", help="wipe the data dir first")
    dev.add_argument("--port", type=int, default=None)
    commands.add_parser("serve", help="serve one node (settings from the environment)")
    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser("seed", help="insert demo data into an empty database")
    cluster = commands.add_parser("cluster", help="N nodes behind HAProxy on embedded services")
    cluster.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "dev": _dev,
        "serve": _serve,
        "migrate": _migrate,
        "seed": _seed,
        "cluster": _cluster,
    }
    try:
        return handlers[args.command](args)
    except ConfigError as exc:
        print(f"cowork: configuration error: {exc}", file=sys.stderr)
        return 2


def _settings(environ: dict[str, str] | None = None) -> Settings:
    return Settings.from_env(environ if environ is not None else dict(os.environ))


def _serve(_: argparse.Namespace) -> int:
    settings = _settings()
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


def _migrate(_: argparse.Namespace) -> int:
    settings = _settings()
    logs.configure(settings.log_json)
    applied = asyncio.run(_migrate_async(settings))
    print(f"migrations applied: {applied or 'none pending'}")
    return 0


async def _migrate_async(settings: Settings) -> list[str]:
    from cowork.store.db import migrate

    return await migrate(settings)


def _seed(_: argparse.Namespace) -> int:
    settings = _settings()
    logs.configure(settings.log_json)
    report = asyncio.run(_seed_async(settings))
    print(report)
    return 0


async def _seed_async(settings: Settings) -> object:
    from cowork.seed import seed_demo
    from cowork.store.db import close_orm, init_orm

    await init_orm(settings)
    try:
        return await seed_demo(settings.demo_password)
    finally:
        await close_orm()


def dev_secrets(data_dir: Path) -> dict[str, str]:
    """Secrets for local use, generated once and kept (0600) under the data dir."""
    path = data_dir / "secrets.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    data_dir.mkdir(parents=True, exist_ok=True)
    values = {
        "JWT_SECRET": secrets.token_urlsafe(32),
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_urlsafe(24),
    }
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def _raise_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _dev(args: argparse.Namespace) -> int:
    from cowork.devstack import embedded_stack, wipe

    # Until the server installs its own handlers, SIGTERM must still unwind `finally` blocks.
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    env = dict(os.environ)
    env.setdefault("COWORK_ENV", "dev")
    env.setdefault("COWORK_LOG_FORMAT", "text")
    if args.port:
        env["PORT"] = str(args.port)
    data_dir = Path(env.get("COWORK_DATA_DIR", ".cowork")).resolve()
    if args.reset:
        wipe(data_dir)
    for key, value in dev_secrets(data_dir).items():
        env.setdefault(key, value)
    logs.configure(env["COWORK_LOG_FORMAT"] == "json")
    with embedded_stack(data_dir, environ=env) as stack:
        env.update(stack.env)
        settings = _settings(env)
        asyncio.run(_prepare_dev(settings))
        _banner(settings)
        run_server(settings)
    return 0


async def _prepare_dev(settings: Settings) -> None:
    from cowork.payments.dev import register_local_webhook

    await _migrate_async(settings)
    from tortoise import Tortoise

    await Tortoise.close_connections()
    await _seed_async(settings)
    await register_local_webhook(settings)


def _banner(settings: Settings) -> None:
    url = f"http://{settings.host}:{settings.port}"
    lines = [
        "",
        f"  cowork is running at {url}",
        f"  Floor map: {url}/          Kiosk: {url}/kiosk?token=<kiosk token>",
        f"  API docs:  {url}/docs   (OpenAPI: {url}/docs/openapi.json)",
        "  Demo logins (password: " + settings.demo_password + "):",
        "    admin@example.com · manager@example.com · member@example.com · member2@example.com",
        "  Ctrl-C stops everything this command started.",
        "",
    ]
    print("\n".join(lines), flush=True)


def _cluster(args: argparse.Namespace) -> int:
    from cowork.cluster import run_cluster

    return run_cluster(args.nodes)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
