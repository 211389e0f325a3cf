"""The `hosts:` section written per machine: each host by name with its roles and the settings of
each role, e.g.

    hosts:
      box:   {roles: [trainer, inference], trainer: {device: cuda}, inference: {url: local}}
      gpu2:  {roles: [inference], inference: {url: "http://gpu2:8765", api_key_env: GPU2_KEY}}
      nas:   {roles: [storage], storage: {path: /mnt/nas/realm}}

It reads into the same model as the form grouped by role (`trainer`, `inference`, `nodes`,
`storage`), which every older realm.yaml uses and which stays valid: the one trainer machine
gives `trainer`, the first inference machine is the default node (`inference`), the others are
`nodes` by their machine's name, and each storage machine is a storage zone by its name."""

from __future__ import annotations

from typing import Any

ROLE_SECTIONS = ("trainer", "inference", "storage")
GROUPED_KEYS = ("trainer", "inference", "nodes", "storage")


def is_per_machine(raw: Any) -> bool:
    return isinstance(raw, dict) and any(isinstance(v, dict) and "roles" in v for v in raw.values())


def machines_to_roles(raw: dict[str, Any]) -> dict[str, Any]:
    """The grouped form of a per-machine `hosts:`; ValueError naming the machine and the fix."""
    mixed = [k for k, v in raw.items() if not (isinstance(v, dict) and "roles" in v)]
    if mixed:
        raise ValueError(f"hosts: {', '.join(mixed)} has no `roles`, beside machines that do; write every host "
                         "as a machine with roles, or use the grouped form (trainer, inference, nodes, storage)")
    out: dict[str, Any] = {"nodes": {}, "storage": {}}
    trainers: list[str] = []
    for name, machine in raw.items():
        roles = machine.get("roles")
        if not isinstance(roles, list) or not roles or any(r not in ROLE_SECTIONS for r in roles):
            skills = " (a skill server is named in its skill file: generator.url)" if "skills" in (roles or []) else ""
            raise ValueError(f"hosts.{name}.roles must be a list of {', '.join(ROLE_SECTIONS)}{skills}")
        extra = [k for k in machine if k != "roles" and (k not in ROLE_SECTIONS or k not in roles)]
        if extra:
            raise ValueError(f"hosts.{name} has settings for {', '.join(extra)} but not that role; add it to "
                             f"hosts.{name}.roles or remove them")
        if "trainer" in roles:
            trainers.append(name)
            out["trainer"] = machine.get("trainer", {})
        if "inference" in roles:
            settings = machine.get("inference", {})
            if "inference" not in out:
                out["inference"] = settings
            else:
                if "url" not in settings:
                    raise ValueError(f"hosts.{name}.inference.url is missing: a second inference machine is a "
                                     "remote node (http://host:port)")
                out["nodes"][name] = {k: v for k, v in settings.items() if k in ("url", "api_key_env")}
        if "storage" in roles:
            if "path" not in machine.get("storage", {}):
                raise ValueError(f"hosts.{name}.storage.path is missing: the folder that holds the copies")
            out["storage"][name] = machine["storage"]
    if len(trainers) > 1:
        raise ValueError(f"hosts: {', '.join(trainers)} all have the trainer role; one machine trains (several GPUs "
                         "of it: trainer.devices)")
    return out
