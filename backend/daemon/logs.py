"""The daemon's log: logs/daemon.log, rotated at `daemon.log_max_mb` with `daemon.log_files_kept`
old files (daemon.log.1 is the newest of them), one line per real event.

HTTP client lines (httpx, httpcore: a health check every few seconds, about 8 MB a day) are
at WARNING unless `daemon.log_http` asks for them. What the process itself writes to stdout or
stderr outside logging (a crash before logging starts) goes to logs/daemon.out.
"""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

from backend.config.model import DaemonConfig

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CHATTY = ("httpx", "httpcore", "urllib3", "asyncio")


def setup_daemon_logging(log_file: Path, config: DaemonConfig, to_stderr: bool) -> RotatingFileHandler:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(log_file, maxBytes=int(config.log_max_mb * 1024 * 1024),
                                  backupCount=config.log_files_kept, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, RotatingFileHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    if to_stderr and not any(getattr(h, "stream", None) is sys.stderr for h in root.handlers):
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(console)
    root.setLevel(logging.INFO)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.INFO if config.log_http else logging.WARNING)
    return handler
