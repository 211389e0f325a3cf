"""The hosts registry: `realm hosts` lists the trainer, the inference node and each storage zone
with its live status, and a realm.yaml in the older two-key form, without any storage zone, still
loads. (A live node's status: tests/daemon/test_daemon_nodes.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.config import check_config
from backend.errors import UserFacingError
from backend.hosts import service_address
from daemon.harness import make_save, realm_cli

OLD_HOSTS = """hosts:
  trainer:
    device: cpu
    threads: 1
  inference:
    url: local
    api_key_env: REALM_NODE_KEY
"""


async def test_realm_hosts_lists_every_host_with_live_status(tmp_path: Path) -> None:
    nas, gone = tmp_path / "nas", tmp_path / "not-mounted"
    nas.mkdir()
    save = await make_save(tmp_path / "save", None, {
        "hosts.inference.url": "local",
        "hosts.storage": {"nas": {"path": str(nas)}, "usb": {"path": str(gone), "keep": "all"}}})
    shown = realm_cli("hosts", "--json", "--save", str(save.root))
    assert shown.returncode == 1, shown.stderr  # one storage zone is missing (a local node not running is no failure)
    hosts = {h["name"]: h for h in json.loads(shown.stdout)}
    assert [h["role"] for h in hosts.values()] == ["trainer", "inference", "storage", "storage"]
    assert not hosts["inference"]["ok"] and hosts["inference"]["status"] == "not running"
    assert "`realm daemon start`" in hosts["inference"]["fix"]
    assert hosts["nas"]["ok"] and hosts["nas"]["address"] == str(nas) and "keeps champions" in hosts["nas"]["detail"]
    assert not hosts["usb"]["ok"] and f"mkdir -p {gone}" in hosts["usb"]["fix"]

    config, _ = check_config(save.config_path)
    assert service_address(save, config, "storage", "usb") == str(gone)
    with pytest.raises(UserFacingError, match="no storage host named 'tape'"):
        service_address(save, config, "storage", "tape")

    doctor = realm_cli("doctor", "--save", str(save.root))
    assert "✓ storage nas" in doctor.stdout and "✗ storage usb" in doctor.stdout, doctor.stdout

    # an older realm.yaml: the two-key hosts form, no storage zones
    text = save.config_path.read_text(encoding="utf-8")
    save.config_path.write_text(text[:text.index("hosts:")] + OLD_HOSTS, encoding="utf-8")  # later sections: defaults
    config, problems = check_config(save.config_path)
    assert config is not None, problems
    assert config.hosts.storage == {} and config.hosts.nodes == {} and config.hosts.trainer.device == "cpu"
    shown = realm_cli("hosts", "--json", "--save", str(save.root))
    assert shown.returncode == 0 and [h["name"] for h in json.loads(shown.stdout)] == ["trainer", "inference"]
