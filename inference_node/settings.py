"""The node's settings: what `realm-node` was started with."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_KEY_ENV = "REALM_NODE_KEY"
DEFAULT_PORT = 8765


class NodeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    models_dir: Path = Field(description="folder of checkpoint-* folders (and maybe base/)")
    base_dir: Path | None = Field(None, description="where `base` is; default models_dir/base")
    host: str = "127.0.0.1"
    port: int = Field(DEFAULT_PORT, ge=0, le=65535)
    api_key: str | None = Field(None, repr=False, description="None: no key (loopback only)")
    pool: int = Field(3, ge=1, le=64, description="checkpoints held in memory at once")
    device: str = "auto"
    threads: int = Field(1, ge=0, description="torch CPU threads (0: every core)")
    max_upload_mb: int = Field(4096, ge=1, description="largest upload (wire bytes and extracted bytes)")
    max_request_kb: int = Field(4096, ge=1, description="largest body of any other request (a chat's messages)")

    @property
    def max_request_bytes(self) -> int:
        return self.max_request_kb * 1024

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024


def is_loopback(host: str) -> bool:
    """True when every address `host` names is a loopback address."""
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)
