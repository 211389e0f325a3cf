"""Model ids -> checkpoint folders, and the fingerprints that make an identity.

A model id is `base` or `checkpoint-<step>` (contracts.node_api). `checkpoint-<step>`
names the one complete checkpoint folder of that step directly inside the models
folder (contracts.checkpoint.is_complete); none is a 404, several are refused as
ambiguous (409). `base` names the folder given as --base-dir, else `<models>/base`.
Nothing outside those folders is ever loaded: symlinked folders or files are refused.

An identity is (id, folder, weights sha256, fingerprint). The sha256 comes from the
checkpoint's ledger and is verified against the weight files on load (for `base`,
which has no ledger, it is computed on load). The fingerprint is the (name, size,
mtime_ns, inode) of every file in the folder, taken before and after a load and
re-taken before every request: when it differs the loaded model is stale, is dropped
from the pool, and the request gets a 404; a new `/models/load` loads the new files.
A file rewritten with the same size, mtime and inode would go unnoticed (nothing
the engine or an upload does produces that).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from contracts.checkpoint import (
    LEDGER_NAME,
    CheckpointLedger,
    LedgerError,
    check_checkpoint,
    parse_checkpoint_name,
    read_ledger,
)
from contracts.node_api import model_id_for, parse_model_id
from inference_node.errors import AmbiguousModel, ModelNotFound

Fingerprint = tuple[tuple[str, int, int, int], ...]


@dataclass(frozen=True)
class Resolved:
    """Where a model id points now."""

    model_id: str
    step: int | None
    path: Path
    ledger: CheckpointLedger | None
    fingerprint: Fingerprint


def folder_fingerprint(path: Path) -> Fingerprint:
    """(relative name, size, mtime_ns, inode) of every file under `path`; ModelNotFound on symlinks."""
    out = []
    for root, dirs, files in os.walk(path):
        for name in sorted(dirs + files):
            full = Path(root) / name
            if full.is_symlink():
                raise ModelNotFound(f"{full} is a symbolic link; the node loads only real files inside its "
                                    "models folder", code="model_refused")
        for name in sorted(files):
            st = (Path(root) / name).stat()
            out.append((str((Path(root) / name).relative_to(path)), st.st_size, st.st_mtime_ns, st.st_ino))
    out.sort()
    return tuple(out)


class Catalog:
    """The models the node may load: complete checkpoints in `models_dir`, and `base`."""

    def __init__(self, models_dir: Path, base_dir: Path | None = None) -> None:
        self.models_dir = Path(models_dir).resolve()
        self.base_dir = Path(base_dir).resolve() if base_dir else None

    @property
    def base_path(self) -> Path:
        return self.base_dir or self.models_dir / "base"

    def _step_folders(self, step: int) -> list[Path]:
        try:
            children = list(self.models_dir.iterdir())
        except FileNotFoundError:
            return []
        out = []
        for child in children:
            parsed = parse_checkpoint_name(child.name)
            if parsed is not None and parsed.step == step:
                out.append(child)
        return sorted(out)

    def resolve(self, model_id: str | None) -> Resolved:
        """The folder `model_id` names now; ModelNotFound (404) or AmbiguousModel (409) otherwise."""
        if not model_id:
            raise ModelNotFound("no model given: name one with 'model' ('base' or 'checkpoint-<step>')",
                                code="model_missing")
        try:
            step = parse_model_id(model_id)
        except ValueError as exc:
            raise ModelNotFound(f"unknown model {model_id!r}: {exc}") from None
        if model_id != model_id_for(step):
            raise ModelNotFound(f"unknown model {model_id!r}: write it as {model_id_for(step)!r}")
        if step is None:
            return self._resolve_base()
        folders = self._step_folders(step)
        if not folders:
            raise ModelNotFound(f"unknown model {model_id!r}: no checkpoint of step {step} in {self.models_dir}")
        complete, problems = [], []
        for folder in folders:
            if folder.is_symlink():
                problems.append(f"{folder.name} is a symbolic link (refused)")
                continue
            why = check_checkpoint(folder, serving=True)
            if why:
                problems.append("; ".join(why[:3]))
            else:
                complete.append(folder)
        if not complete:
            raise ModelNotFound(f"model {model_id!r} has no complete checkpoint: {' | '.join(problems)}",
                                code="model_incomplete")
        if len(complete) > 1:
            names = ", ".join(p.name for p in complete)
            raise AmbiguousModel(f"model {model_id!r} is ambiguous: several complete checkpoints claim step "
                                 f"{step} ({names}); remove all but one")
        folder = complete[0]
        try:
            ledger = read_ledger(folder)
        except LedgerError as exc:
            raise ModelNotFound(f"model {model_id!r}: {exc}", code="model_incomplete") from None
        return Resolved(model_id, step, folder, ledger, folder_fingerprint(folder))

    def _resolve_base(self) -> Resolved:
        path = self.base_path
        if path.is_symlink() or not path.is_dir() or not (path / "config.json").is_file():
            raise ModelNotFound(f"unknown model 'base': no model folder at {path} (start the node with "
                                "--base-dir, or put the base model in <models-dir>/base)")
        ledger = None
        if (path / LEDGER_NAME).is_file():
            try:
                ledger = read_ledger(path)
            except LedgerError:
                ledger = None
        return Resolved("base", None, path, ledger, folder_fingerprint(path))

    def available(self) -> list[str]:
        """Ids that would load now (complete, unambiguous), `base` first."""
        ids: list[str] = []
        try:
            self._resolve_base()
            ids.append("base")
        except (ModelNotFound, AmbiguousModel):
            pass
        steps: set[int] = set()
        try:
            children = list(self.models_dir.iterdir())
        except FileNotFoundError:
            children = []
        for child in children:
            parsed = parse_checkpoint_name(child.name)
            if parsed is not None:
                steps.add(parsed.step)
        for step in sorted(steps):
            try:
                self.resolve(model_id_for(step))
                ids.append(model_id_for(step))
            except (ModelNotFound, AmbiguousModel):
                pass
        return ids
