"""`cowork dev` keeps its secrets under the data dir: made once, never changed afterwards."""

from __future__ import annotations

import json
import stat

from cowork.bootstrap import dev_secrets
from cowork.notify.vapid import load_vapid


def test_secrets_are_made_once_and_kept(tmp_path):
    """Fault: a new VAPID key (or JWT secret) at every start would end every browser's push
    subscription (and every session) each time a developer restarts."""
    first = dev_secrets(tmp_path)
    assert set(first) == {"JWT_SECRET", "STRIPE_WEBHOOK_SECRET", "VAPID_PRIVATE_KEY"}
    load_vapid(first["VAPID_PRIVATE_KEY"])  # a usable P-256 key
    assert dev_secrets(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600


def test_a_data_dir_from_before_push_gets_a_vapid_key_and_keeps_the_rest(tmp_path):
    """Fault: an existing data dir (made before Web Push) never gets a VAPID key, so push stays
    off, or gets new secrets along with it, so every session ends."""
    old = {"JWT_SECRET": "kept-jwt-secret-of-some-length", "STRIPE_WEBHOOK_SECRET": "whsec_kept"}
    (tmp_path / "secrets.json").write_text(json.dumps(old))
    now = dev_secrets(tmp_path)
    assert {k: now[k] for k in old} == old
    assert now["VAPID_PRIVATE_KEY"]
    assert json.loads((tmp_path / "secrets.json").read_text()) == now
