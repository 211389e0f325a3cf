"""The hosts registry: every machine the save works with, by role, resolved from realm.yaml in one
place. Roles: trainer (this machine, `hosts.trainer`), inference (the node, `hosts.inference`:
`local` or a URL), storage (each zone of `hosts.storage`: a folder) and skills (a skill whose
file names a `generator.url`). `realm hosts` lists them with live status; `realm doctor` checks
each. `service_address` answers "the address of the host of role X" from this one table (the
inference node's URL itself comes from backend.oracle.node_url, which the table uses)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from backend.config.model import RealmConfig
from backend.errors import UserFacingError
from backend.fmt import fmt_bytes
from backend.slot import SaveSlot

ROLES = ("trainer", "inference", "storage", "skills")


@dataclass(frozen=True)
class HostEntry:
    name: str  # how the player refers to it: "trainer", "inference", a zone's name, "skill:ID"
    role: str  # one of ROLES
    address: str  # a URL, a folder, or this machine's host name
    detail: str  # device, pool, keep policy ...


@dataclass(frozen=True)
class HostStatus:
    entry: HostEntry
    ok: bool
    status: str  # what was found, in words
    fix: str = ""


def registry(slot: SaveSlot, config: RealmConfig) -> list[HostEntry]:
    """Every host, trainer first."""
    from backend.oracle import DEFAULT_NODE, node_url

    t, i = config.hosts.trainer, config.hosts.inference
    out = [HostEntry("trainer", "trainer", socket.gethostname(),
                     f"device {t.device}, {t.devices} process(es), threads {t.threads or 'all'}")]
    where = "the daemon's local node" if i.url == "local" else f"key in ${i.api_key_env}"
    url = node_url(config, slot)
    address = "local (not running: the daemon starts it)" if url.endswith(":0") else url
    out.append(HostEntry(DEFAULT_NODE, "inference", address, f"{where}, pool {i.pool}, device {i.device}; the default"))
    for name, node in config.hosts.nodes.items():
        used = " (evaluates)" if config.evaluation.node == name else ""
        out.append(HostEntry(name, "inference", node.url, f"key in ${node.api_key_env}{used}"))
    for name, zone in config.hosts.storage.items():
        out.append(HostEntry(name, "storage", str(Path(zone.path).expanduser()), f"keeps {zone.keep}"))
    out += [HostEntry(f"skill:{sid}", "skills", url, "remote skill generator") for sid, url in remote_skills()]
    return out


def remote_skills() -> list[tuple[str, str]]:
    """(skill id, URL) of the skills served by a skill API."""
    from backend.skill_registry import skills_dir
    from skills.spec import load_specs

    try:
        return [(s.id, s.generator.url) for s in load_specs(skills_dir()) if s.remote and s.generator.url]
    except Exception:  # noqa: BLE001 - a broken skill file is `realm skill check`'s report, not this one's
        return []


def service_address(slot: SaveSlot, config: RealmConfig, role: str, name: str | None = None) -> str:
    """The one resolver: the address of the `role` host called `name` (the first of the role when
    None)."""
    matches = [h for h in registry(slot, config) if h.role == role and (name is None or h.name == name)]
    if not matches:
        known = ", ".join(h.name for h in registry(slot, config) if h.role == role) or "none"
        raise UserFacingError(f"no {role} host{f' named {name!r}' if name else ''} (known: {known})",
                              fix="`realm hosts` lists them; hosts: in realm.yaml declares them")
    return matches[0].address


async def probe(slot: SaveSlot, config: RealmConfig, entry: HostEntry) -> HostStatus:
    """Live status of one host (each check bounded by its own timeout)."""
    if entry.role == "trainer":
        usage = shutil.disk_usage(slot.root)
        return HostStatus(entry, True, f"this machine, {os.cpu_count()} CPU cores, {fmt_bytes(usage.free)} free")
    if entry.role == "storage":
        return probe_storage(entry)
    if entry.role == "inference":
        if not entry.address.startswith("http"):
            return HostStatus(entry, False, "not running", "`realm daemon start` starts it")
        return await probe_node(slot, config, entry)
    return await probe_url(entry, "/health")


def probe_storage(entry: HostEntry) -> HostStatus:
    folder = Path(entry.address)
    if not folder.is_dir():
        return HostStatus(entry, False, "the folder does not exist (or is not mounted)",
                          f"mount it or create it: mkdir -p {folder}")
    if not os.access(folder, os.W_OK):
        return HostStatus(entry, False, "the folder is not writable", f"give this user write access to {folder}")
    copies = sum(1 for p in folder.iterdir() if p.name.startswith("checkpoint-"))
    return HostStatus(entry, True, f"{copies} checkpoint copies, {fmt_bytes(shutil.disk_usage(folder).free)} free")


async def probe_node(slot: SaveSlot, config: RealmConfig, entry: HostEntry) -> HostStatus:
    from backend.http_client import ServiceError
    from backend.oracle import DEFAULT_NODE, OracleClient

    default = entry.name == DEFAULT_NODE
    client = OracleClient.from_config(slot, config, None if default else entry.name)
    try:
        health = await client.health()
        models = await client.models()
        return HostStatus(entry, True, f"{health.get('status', 'ok')}, {len(models)} model(s) loaded")
    except ServiceError as exc:
        local = default and config.hosts.inference.url == "local"
        key_env = config.hosts.inference.api_key_env if default else config.hosts.nodes[entry.name].api_key_env
        fix = ("the daemon starts the local node: `realm daemon start`" if local else
               f"start `realm-node` there and check ${key_env}")
        return HostStatus(entry, False, str(exc), fix)
    finally:
        await client.aclose()


async def probe_url(entry: HostEntry, path: str) -> HostStatus:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(entry.address.rstrip("/") + path)
        ok = response.status_code < 400
        return HostStatus(entry, ok, f"HTTP {response.status_code}", "" if ok else "check the skill server's log")
    except httpx.HTTPError as exc:
        return HostStatus(entry, False, f"unreachable ({type(exc).__name__})", "start the skill server, check the URL")


async def statuses(slot: SaveSlot, config: RealmConfig, timeout_s: float = 10.0) -> list[HostStatus]:
    async def bounded(entry: HostEntry) -> HostStatus:
        try:
            return await asyncio.wait_for(probe(slot, config, entry), timeout_s)
        except TimeoutError:
            return HostStatus(entry, False, f"no answer within {timeout_s:.0f} s", "check the network and the host")

    return list(await asyncio.gather(*(bounded(e) for e in registry(slot, config))))


def as_json(status: HostStatus) -> dict[str, Any]:
    return {**asdict(status.entry), "ok": status.ok, "status": status.status, "fix": status.fix}
