"""POST /models/upload: a verified, size-limited tar stream; every attack rejected and nothing
written outside the models folder; idempotent for identical files, 409 for different ones."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import psutil
import pytest

from node_helpers import NodeWorld
from contracts.checkpoint import read_ledger
from node_helpers import NodeProcess, make_checkpoint, manifest_of, tar_of


def headers_for(manifest: dict) -> dict[str, str]:
    return {"X-Realm-Manifest": json.dumps(manifest), "Content-Type": "application/x-tar"}


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.fixture(scope="module")
def source(world: NodeWorld) -> Path:
    """A checkpoint outside the models folder, the base of the attack archives."""
    return make_checkpoint(world.base, world.outside, 600, noise_seed=20)


def crafted(folder: Path, extra: list[tuple[tarfile.TarInfo, bytes | None]], *, skip: set[str] = frozenset()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for p in sorted(folder.iterdir()):
            if p.is_file() and p.name not in skip:
                tar.add(p, arcname=p.name)
        for info, data in extra:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", link: str = "") -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data if kind == tarfile.REGTYPE else None


async def test_upload_then_load_then_idempotent_then_conflict(world: NodeWorld, http: httpx.AsyncClient,
                                                              source: Path) -> None:
    manifest = manifest_of(source)
    r = await http.post("/models/upload", content=tar_of(source), headers=headers_for(manifest))
    assert r.status_code == 201, r.text
    body = r.json()
    sha = read_ledger(source).weights_sha256
    assert (body["name"], body["model"], body["step"], body["weights_sha256"], body["created"]) == (
        source.name, "checkpoint-600", 600, sha, True)
    assert (world.models / source.name).is_dir()
    assert not [n for n in listing(world.models) if n.startswith(".upload-")]
    loaded = await http.post("/models/load", json={"model": "checkpoint-600"})
    assert loaded.status_code == 200 and loaded.json()["weights_sha256"] == sha
    chat = await http.post("/v1/chat/completions", json={"model": "checkpoint-600", "max_tokens": 3,
                                                         "messages": [{"role": "user", "content": "hi"}]})
    assert chat.status_code == 200 and chat.json()["model"] == "checkpoint-600"

    again = await http.post("/models/upload", content=tar_of(source), headers=headers_for(manifest))
    assert again.status_code == 200 and again.json()["created"] is False

    when = datetime.strptime(source.name.split("-", 2)[2], "%Y%m%d-%H%M").replace(tzinfo=timezone.utc)
    other_dir = world.outside / "other"
    other_dir.mkdir()
    other = make_checkpoint(world.base, other_dir, 600, noise_seed=21, when=when)
    assert other.name == source.name
    r = await http.post("/models/upload", content=tar_of(other), headers=headers_for(manifest_of(other)))
    assert r.status_code == 409 and r.json()["error"]["code"] == "upload_conflict"
    assert read_ledger(world.models / source.name).weights_sha256 == sha  # untouched


async def test_gzip_prefixed_and_chunked_upload(world: NodeWorld, http: httpx.AsyncClient) -> None:
    folder = make_checkpoint(world.base, world.outside, 610, noise_seed=22)
    data = tar_of(folder, gzip=True, prefix=f"{folder.name}/")

    async def chunks():
        for i in range(0, len(data), 100_000):
            yield data[i:i + 100_000]

    r = await http.post("/models/upload", content=chunks(),
                        headers={**headers_for(manifest_of(folder)), "Content-Type": "application/gzip"})
    assert r.status_code == 201, r.text
    r = await http.post("/models/load", json={"model": "checkpoint-610"})
    assert r.status_code == 200 and r.json()["weights_sha256"] == read_ledger(folder).weights_sha256


@pytest.fixture(scope="module")
def target(world: NodeWorld) -> Path:
    """A checkpoint never uploaded whole: the attack archives carry its files."""
    return make_checkpoint(world.base, world.outside, 650, noise_seed=24)


async def test_upload_with_the_contract_helpers(world: NodeWorld, http: httpx.AsyncClient) -> None:
    """What the daemon does: contracts.node_api's manifest and chunked tar stream."""
    from contracts.node_api import HEADER_MANIFEST, UploadResult, checkpoint_tar_chunks, upload_manifest

    folder = make_checkpoint(world.base, world.outside, 620, noise_seed=25)

    async def body():
        for chunk in checkpoint_tar_chunks(folder, chunk=65536):
            yield chunk

    manifest = upload_manifest(folder)
    r = await http.post("/models/upload", content=body(),
                        headers={HEADER_MANIFEST: manifest.model_dump_json(), "Content-Type": "application/x-tar"})
    assert r.status_code == 201, r.text
    result = UploadResult.model_validate(r.json())
    assert result.weights_sha256 == read_ledger(folder).weights_sha256 and result.files == len(manifest.files)
    assert (await http.post("/models/load", json={"model": result.model})).status_code == 200


def attack_cases(source: Path, canary: str) -> dict[str, tuple[bytes, dict, int, str]]:
    m = manifest_of(source)
    evil = b"pwned"
    import hashlib

    evil_sha = hashlib.sha256(evil).hexdigest()
    with_evil = lambda name: {**m, "files": {**m["files"], name: evil_sha},  # noqa: E731
                              "sizes": {**m["sizes"], name: len(evil)}}
    wrong_sha = {**m, "files": {**m["files"], "config.json": "0" * 64}}
    missing = {**m, "files": {**m["files"], "tokenizer_extra.json": evil_sha},
               "sizes": {**m["sizes"], "tokenizer_extra.json": len(evil)}}
    # a decompression bomb: a gzip stream of 1 MB whose member declares 64 MiB more than the manifest
    bomb_member = member("config.json", data=b"\0" * (64 << 20))
    bomb = gzip.compress(crafted(source, [bomb_member], skip={"config.json"}), compresslevel=1)
    return {
        "traversal": (crafted(source, [member(f"../{canary}", data=evil)]), m, 400, "traversal"),
        "deep traversal": (crafted(source, [member(f"sub/../../{canary}", data=evil)]), m, 400, "traversal"),
        "absolute": (crafted(source, [member(f"/tmp/{canary}", data=evil)]), m, 400, "absolute"),
        "manifest traversal": (crafted(source, [member(f"../{canary}", data=evil)]), with_evil(f"../{canary}"), 400,
                               "manifest path"),
        "symlink": (crafted(source, [member("evil-link", tarfile.SYMTYPE, link="/etc/passwd")]),
                    with_evil("evil-link"), 400, "symbolic link"),
        "symlink then write": (crafted(source, [member("d", tarfile.SYMTYPE, link="/tmp"),
                                                member(f"d/{canary}", data=evil)]), with_evil(f"d/{canary}"), 400,
                               "symbolic link"),
        "hardlink": (crafted(source, [member("evil-hard", tarfile.LNKTYPE, link="/etc/passwd")]),
                     with_evil("evil-hard"), 400, "hard link"),
        "char device": (crafted(source, [member("evil-dev", tarfile.CHRTYPE)]), with_evil("evil-dev"), 400,
                        "device file"),
        "block device": (crafted(source, [member("evil-blk", tarfile.BLKTYPE)]), with_evil("evil-blk"), 400,
                         "device file"),
        "fifo": (crafted(source, [member("evil-fifo", tarfile.FIFOTYPE)]), with_evil("evil-fifo"), 400, "FIFO"),
        "duplicate": (crafted(source, [member("config.json", data=evil)]), m, 400, "twice"),
        "not in manifest": (crafted(source, [member("extra.bin", data=evil)]), m, 400, "not in the manifest"),
        "sha mismatch": (crafted(source, []), wrong_sha, 400, "differs from the manifest"),
        "missing file": (crafted(source, []), missing, 400, "not in the archive"),
        "missing ledger": (crafted(source, [], skip={".ledger.json"}),
                           {**m, "files": {k: v for k, v in m["files"].items() if k != ".ledger.json"},
                            "sizes": {k: v for k, v in m["sizes"].items() if k != ".ledger.json"}}, 400,
                           ".ledger.json"),
        "decompression bomb": (bomb, m, 400, "declares"),
        "no sizes": (crafted(source, []), {k: v for k, v in m.items() if k != "sizes"}, 400, "sizes"),
        "not a tar": (os.urandom(20_000), m, 400, "tar"),
        "wrong name": (crafted(source, []), {**m, "name": "checkpoint-777-20250101-0000"}, 400, "ledger names"),
        "bad name": (crafted(source, []), {**m, "name": "../../etc"}, 400, "not a checkpoint name"),
        "base name with base-dir": (crafted(source, []), {**m, "name": "base"}, 409, "--base-dir"),
    }


async def test_every_attack_is_rejected(world: NodeWorld, http: httpx.AsyncClient, target: Path) -> None:
    canary = f"realm-canary-{uuid.uuid4().hex}"
    before = listing(world.models)
    for name, (data, manifest, status, why) in attack_cases(target, canary).items():
        r = await http.post("/models/upload", content=data, headers=headers_for(manifest))
        assert r.status_code == status, (name, r.status_code, r.text)
        err = r.json()["error"]
        assert why in err["message"] and err["type"] == "invalid_request_error", (name, err)
        assert listing(world.models) == before, name
        for where in (world.models.parent, world.root, Path("/tmp"), world.models):
            assert not (where / canary).exists(), (name, where)
    r = await http.post("/models/upload", content=tar_of(target), headers={"Content-Type": "application/x-tar"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "manifest"
    r = await http.post("/models/upload", content=tar_of(target), headers={"X-Realm-Manifest": "{not json"})
    assert r.status_code == 400
    # the same archive, untampered, is accepted: the attacks failed for their own reasons
    r = await http.post("/models/upload", content=tar_of(target), headers=headers_for(manifest_of(target)))
    assert r.status_code == 201, r.text


async def test_size_limit_streams_and_rejects(world: NodeWorld, node: NodeProcess, http: httpx.AsyncClient) -> None:
    big = next(p for p in world.models.iterdir() if p.name.startswith("checkpoint-6-"))  # 10 MB with resume state
    manifest = manifest_of(big)
    data = tar_of(big)
    assert len(data) > 8 * 1024 * 1024
    r = await http.post("/models/upload", content=data, headers=headers_for(manifest))  # Content-Length: early
    assert r.status_code == 413 and r.json()["error"]["code"] == "upload_too_large"

    async def chunked(total: int):
        piece = b"\0" * 65536
        sent = 0
        while sent < total:
            yield piece
            sent += len(piece)

    proc = psutil.Process(node.proc.pid)
    rss = proc.memory_info().rss
    r = await http.post("/models/upload", content=chunked(48 * 1024 * 1024), headers=headers_for(manifest))
    assert r.status_code == 413, r.text
    grown = proc.memory_info().rss - rss
    assert grown < 24 * 1024 * 1024, f"the node grew by {grown / 2**20:.0f} MiB reading a 48 MiB upload"
    assert not [n for n in listing(world.models) if n.startswith(".upload-")]


async def test_step_taken_by_another_folder_is_a_conflict(world: NodeWorld, http: httpx.AsyncClient) -> None:
    trained = next(p for p in world.models.iterdir() if p.name.startswith("checkpoint-3-"))
    twin_dir = world.outside / "twin"
    twin_dir.mkdir()
    twin = make_checkpoint(world.base, twin_dir, 3, noise_seed=23,
                           when=datetime(2025, 3, 1, tzinfo=timezone.utc))
    assert twin.name != trained.name
    r = await http.post("/models/upload", content=tar_of(twin), headers=headers_for(manifest_of(twin)))
    assert r.status_code == 409 and "checkpoint-3" in r.json()["error"]["message"]
    assert not (world.models / twin.name).exists()


async def test_the_daemons_upload_leaves_the_resume_state_behind(world: NodeWorld, node, tmp_path: Path) -> None:
    """A node never trains, and AdamW's moments are twice the weights: the daemon's client sends a
    serving copy, which the node verifies against the ledger and serves."""
    from backend.oracle import OracleClient
    from contracts.checkpoint import RESUME_STATE_NAME
    from node_helpers import train_checkpoints

    folder = train_checkpoints(world.base, tmp_path / "train", steps=2, save_every=2)[-1]
    ledger = read_ledger(folder)
    assert ledger.resume is not None and (folder / RESUME_STATE_NAME).is_file()
    client = OracleClient(node.url, node.key)
    try:
        result = await client.upload(folder)
        assert result["weights_sha256"] == ledger.weights_sha256
        assert result["files"] == len(ledger.files)  # every file but the resume state, plus the ledger
        copy = next(p for p in world.models.iterdir() if p.name == folder.name)
        assert not (copy / RESUME_STATE_NAME).exists() and (copy / "model.safetensors").is_file()
        card = await client.load(f"checkpoint-{ledger.step}")
        assert card.sha256 == ledger.weights_sha256
        assert (await client.upload(folder))["weights_sha256"] == ledger.weights_sha256  # again: a no-op
    finally:
        await client.aclose()
