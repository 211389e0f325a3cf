"""The hosts registry: `realm hosts` lists the trainer, the inference node, each storage zone and
its live status (a real node on loopback), and a realm.yaml in the older two-key form, without
any storage zone, still loads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backend.config import check_config
from backend.errors import UserFacingError
from backend.hosts import service_address
from daemon.harness import RemoteNode, make_save

KEY_ENV = "REALM_HOSTS_TEST_KEY"
OLD_HOSTS = """hosts:
  trainer:
    device: cpu
    threads: 1
  inference:
    url: {url}
    api_key_env: {key_env}
"""


def realm(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "backend.cli", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})


async def test_realm_hosts_lists_every_host_with_live_status(tmp_path: Path) -> None:
    node = RemoteNode(tmp_path, KEY_ENV)
    try:
        await node.wait_up()
        nas, gone = tmp_path / "nas", tmp_path / "not-mounted"
        nas.mkdir()
        save = await make_save(tmp_path / "save", None, {
            "hosts.inference.url": node.url, "hosts.inference.api_key_env": KEY_ENV,
            "hosts.storage": {"nas": {"path": str(nas)}, "usb": {"path": str(gone), "keep": "all"}}})
        shown = realm("hosts", "--json", "--save", str(save.root), env={KEY_ENV: node.key})
        assert shown.returncode == 1, shown.stderr  # one storage zone is missing
        hosts = {h["name"]: h for h in json.loads(shown.stdout)}
        assert [h["role"] for h in hosts.values()] == ["trainer", "inference", "storage", "storage"]
        assert hosts["inference"]["address"] == node.url and hosts["inference"]["ok"]
        assert "0 model(s) loaded" in hosts["inference"]["status"]
        assert hosts["nas"]["ok"] and hosts["nas"]["address"] == str(nas) and "keeps champions" in hosts["nas"]["detail"]
        assert not hosts["usb"]["ok"] and f"mkdir -p {gone}" in hosts["usb"]["fix"]

        config, _ = check_config(save.config_path)
        assert service_address(save, config, "inference") == node.url
        assert service_address(save, config, "storage", "usb") == str(gone)
        with pytest.raises(UserFacingError, match="no storage host named 'tape'"):
            service_address(save, config, "storage", "tape")

        doctor = realm("doctor", "--save", str(save.root), env={KEY_ENV: node.key})
        assert "✓ storage nas" in doctor.stdout and "✗ storage usb" in doctor.stdout, doctor.stdout

        # an older realm.yaml: the two-key hosts form, no storage zones
        text = save.config_path.read_text(encoding="utf-8")
        old = text[:text.index("hosts:")] + OLD_HOSTS.format(url=node.url, key_env=KEY_ENV)  # later sections: defaults
        save.config_path.write_text(old, encoding="utf-8")
        config, problems = check_config(save.config_path)
        assert config is not None, problems
        assert config.hosts.storage == {} and config.hosts.trainer.device == "cpu" and config.hosts.inference.url == node.url
        shown = realm("hosts", "--json", "--save", str(save.root), env={KEY_ENV: node.key})
        assert shown.returncode == 0 and [h["name"] for h in json.loads(shown.stdout)] == ["trainer", "inference"]
    finally:
        node.stop()
