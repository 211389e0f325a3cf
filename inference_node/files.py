"""The node as a zone: the checkpoints it holds on disk, and their files for a pull.

    GET /models/files/{model}          {"name", "step", "weights_sha256", "files": {name: {sha256, size}}}
    GET /models/files/{model}/{file}   the file's bytes (Range requests resume a transfer);
                                       X-Content-SHA256 carries its ledger digest

Key-protected like every route but /health. Only a complete checkpoint (as the catalog resolves
it: no symbolic links, every serving file matching its ledger's size) is served, and only the
files its ledger lists plus the ledger itself: any other name, `..` or a path is a 404, so
nothing outside the checkpoint's own folder can be read. The receiver checks each file's sha256
against the ledger before it keeps it."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import FileResponse

from contracts.checkpoint import LEDGER_NAME, serving_files, sha256_file
from contracts.node_api import HEADER_CONTENT_SHA256
from inference_node.errors import ModelNotFound
from inference_node.identity import Catalog


def install_file_routes(app: FastAPI, catalog: Catalog) -> None:
    def resolved(model: str) -> Any:
        found = catalog.resolve(model)
        if found.ledger is None or found.step is None:
            raise ModelNotFound(f"{model!r} is not a checkpoint with a ledger: only checkpoints can be pulled",
                                code="model_not_pullable")
        return found

    @app.get("/models/files/{model}")
    async def manifest(model: str) -> dict[str, Any]:
        found = resolved(model)
        files = {n: found.ledger.files[n].model_dump() for n in sorted(serving_files(found.ledger))}
        return {"name": found.path.name, "step": found.step, "weights_sha256": found.ledger.weights_sha256,
                "files": files}

    @app.get("/models/files/{model}/{name}")
    async def file(model: str, name: str) -> FileResponse:
        found = resolved(model)
        if name == LEDGER_NAME:
            digest = sha256_file(found.path / LEDGER_NAME)
        elif name in serving_files(found.ledger) and (found.path / name).is_file():
            digest = found.ledger.files[name].sha256
        else:
            raise ModelNotFound(f"{model!r} has no file {name!r} to serve", code="file_not_found")
        return FileResponse(found.path / name, media_type="application/octet-stream",
                            headers={HEADER_CONTENT_SHA256: digest})
