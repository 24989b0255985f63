"""The import contracts in pyproject.toml name every top-level module of the package.

Fault it catches: a new module (say `cowork/reports.py`) that the "domain imports nothing of
ours" or "only http/ imports Sanic" contracts silently do not cover.
"""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def _top_level() -> set[str]:
    package = ROOT / "cowork"
    names = {p.stem for p in package.glob("*.py") if p.stem not in ("__init__", "__main__")}
    names |= {p.name for p in package.iterdir() if (p / "__init__.py").exists()}
    return {f"cowork.{n}" for n in names}


def test_domain_contract_forbids_every_other_module():
    forbidden = set(_contracts()["domain imports nothing of ours"]["forbidden_modules"])
    assert forbidden == _top_level() - {"cowork.domain"}


def test_sanic_contract_covers_every_module_but_http_and_app():
    sources = set(_contracts()["only http/ and app.py import Sanic"]["source_modules"])
    assert sources == _top_level() - {"cowork.http", "cowork.app"}
