"""`hosts:` written per machine (each host by name, with its roles) reads into the same settings
as the grouped form; `realm hosts` lists it; a wrong one is a clear problem naming the machine."""

from __future__ import annotations

import json
from pathlib import Path

from backend.config import check_config
from test_cli import realm

PER_MACHINE = """hosts:
  box:
    roles: [trainer, inference]
    trainer: {{device: cpu, threads: 1}}
    inference: {{url: local, pool: 2}}
  gpu2:
    roles: [inference]
    inference: {{url: "http://127.0.0.1:9", api_key_env: GPU2_KEY}}
  nas:
    roles: [storage]
    storage: {{path: "{nas}", keep: all}}
"""


def test_hosts_per_machine_read_as_roles_and_are_listed(tmp_path: Path) -> None:
    save, nas = tmp_path / "slot", tmp_path / "nas"
    nas.mkdir()
    assert realm("init", "--save", str(save)).returncode == 0
    config_path = save / "realm.yaml"
    text = config_path.read_text(encoding="utf-8")
    config_path.write_text(text[:text.index("hosts:")] + PER_MACHINE.format(nas=nas), encoding="utf-8")
    config, problems = check_config(config_path)
    assert config is not None, [p.render() for p in problems]
    h = config.hosts
    assert (h.trainer.device, h.trainer.threads, h.inference.url, h.inference.pool) == ("cpu", 1, "local", 2)
    assert h.nodes["gpu2"].url == "http://127.0.0.1:9" and h.nodes["gpu2"].api_key_env == "GPU2_KEY"
    assert h.storage["nas"].path == str(nas) and h.storage["nas"].keep == "all"

    shown = realm("hosts", "--json", "--save", str(save))
    hosts = {x["name"]: x for x in json.loads(shown.stdout)}
    assert [(n, x["role"]) for n, x in hosts.items()] == [
        ("trainer", "trainer"), ("inference", "inference"), ("gpu2", "inference"), ("nas", "storage")]
    assert hosts["nas"]["ok"] and not hosts["gpu2"]["ok"] and "GPU2_KEY" in hosts["gpu2"]["fix"]
    refused = realm("config", "set", "hosts.box.trainer.threads", "2", "--save", str(save))
    assert refused.returncode == 1 and "writes hosts per machine" in refused.stdout + refused.stderr
    assert "roles: [trainer, inference]" in config_path.read_text(encoding="utf-8")  # the file is left as it was

    for bad, words in (
        ('hosts:\n  a: {roles: [trainer]}\n  b: {roles: [trainer]}\n', "a, b all have the trainer role"),
        ('hosts:\n  a: {roles: [storage]}\n', "hosts.a.storage.path is missing"),
        ('hosts:\n  a: {roles: [trainer], storage: {path: /x}}\n', "hosts.a has settings for storage but not that role"),
        ('hosts:\n  a: {roles: [skills]}\n', "a skill server is named in its skill file"),
    ):
        config_path.write_text(text[:text.index("hosts:")] + bad, encoding="utf-8")
        config, problems = check_config(config_path)
        assert config is None and words in problems[0].render(), (bad, problems[0].render())
