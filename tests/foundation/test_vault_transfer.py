"""Transfers between zones: a large checkpoint file interrupted midway goes on from the bytes
already copied, every file is checked against the ledger's sha256 before it is renamed, and a
damaged source never lands as a copy."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from backend.vault.transfer import TransferError, copy_checkpoint, staging_folder
from contracts.checkpoint import (
    LEDGER_NAME,
    CheckpointLedger,
    FileDigest,
    check_checkpoint,
    format_checkpoint_name,
    sha256_file,
)

BIG = 300 << 20  # a 300 MB weight file


def make_checkpoint(root: Path, step: int = 7) -> Path:
    when = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
    folder = root / format_checkpoint_name(step, when)
    folder.mkdir(parents=True)
    with open(folder / "model.safetensors", "wb") as f:  # a pattern, not zeros: a resumed copy must splice right
        block = hashlib.sha256(b"realm").digest() * (1 << 15)
        for _ in range(BIG // len(block)):
            f.write(block)
    (folder / "config.json").write_text(json.dumps({"model_type": "qwen3"}))
    files = {p.name: FileDigest(sha256=sha256_file(p), size=p.stat().st_size) for p in folder.iterdir()}
    ledger = CheckpointLedger(name=folder.name, step=step, job_step=step, init_step=0, saved_at=when, reason="end",
                              files=files, weights_sha256=files["model.safetensors"].sha256)
    (folder / LEDGER_NAME).write_text(json.dumps(ledger.model_dump(mode="json")))
    return folder


class Interrupted(Exception):
    pass


def test_a_large_transfer_interrupted_midway_goes_on_from_where_it_stopped(tmp_path: Path) -> None:
    source = make_checkpoint(tmp_path / "trainer")
    dest_root = tmp_path / "nas"
    seen: list[tuple[int, int]] = []

    def cut_at_a_third(done: int, total: int) -> None:
        seen.append((done, total))
        if done > total // 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        copy_checkpoint(source, dest_root, cut_at_a_third)
    staging = staging_folder(dest_root, source.name)
    part = staging / "model.safetensors.part"
    assert part.is_file() and 0 < part.stat().st_size < BIG
    assert not (dest_root / source.name).exists()  # nothing half-copied under the real name
    copied_before = part.stat().st_size

    resumed: list[tuple[int, int]] = []
    dest = copy_checkpoint(source, dest_root, lambda done, total: resumed.append((done, total)))
    assert resumed[0][0] > copied_before  # it went on: the first report is past the bytes already there
    assert resumed[-1][0] == resumed[-1][1] == seen[0][1]
    assert check_checkpoint(dest, verify_hashes=True) == [] and not staging.exists()
    assert copy_checkpoint(source, dest_root) == dest  # a sound copy already there is kept


def test_a_damaged_source_never_lands_as_a_copy(tmp_path: Path) -> None:
    source = make_checkpoint(tmp_path / "trainer")
    with open(source / "model.safetensors", "r+b") as f:  # same size, one byte flipped: only the hash tells
        f.seek(BIG // 2)
        byte = f.read(1)
        f.seek(BIG // 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(TransferError, match="sha256"):
        copy_checkpoint(source, tmp_path / "nas")
    assert not (tmp_path / "nas" / source.name).exists()
    assert not (staging_folder(tmp_path / "nas", source.name) / "model.safetensors.part").exists()
    os.remove(source / "config.json")
    with pytest.raises(TransferError, match="not a complete checkpoint"):
        copy_checkpoint(source, tmp_path / "nas")


def test_a_node_cannot_name_a_file_outside_the_checkpoint() -> None:
    from backend.vault.node_pull import plain_file_name

    assert plain_file_name("model.safetensors") and plain_file_name("tokenizer_config.json")
    for name in ("../realm.db", "/etc/passwd", "a/b", "..", ".ledger.json", "x\\y", "", "a\0b"):
        assert not plain_file_name(name), name
