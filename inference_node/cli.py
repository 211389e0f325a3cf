"""`realm-node`: run the inference node.

    realm-node --models-dir DIR [--host 127.0.0.1] [--port 8765] [--api-key-env REALM_NODE_KEY]
               [--pool 3] [--base-dir PATH] [--device auto] [--threads 1] [--max-upload-mb 4096]
               [--max-request-kb 4096]
               [--log-level warning] [--exit-with-parent]

The API key is read from the environment variable named by --api-key-env. Without a
key the node serves loopback only: binding any other address is refused (exit 2).
`--port 0` picks a free port. When the socket listens and the app has started, one
line goes to stdout: `realm-node ready on http://HOST:PORT` (a parent process waits
for it); GET /health then answers 200 (503 while a load is in progress).
Exit codes: 0 after SIGINT/SIGTERM, 2 for bad arguments or an address that cannot
be bound.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from pathlib import Path

from inference_node.settings import DEFAULT_KEY_ENV, DEFAULT_PORT, NodeSettings, is_loopback

READY_PREFIX = "realm-node ready on "


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="realm-node", description="Realm of Training's inference node "
                                "(OpenAI-compatible server for DIO's checkpoints).")
    p.add_argument("--models-dir", type=Path, required=True, help="folder of checkpoint-* folders")
    p.add_argument("--base-dir", type=Path, default=None, help="the base model folder served as 'base' "
                   "(default: MODELS_DIR/base)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    p.add_argument("--api-key-env", default=DEFAULT_KEY_ENV, metavar="NAME",
                   help=f"environment variable holding the API key (default {DEFAULT_KEY_ENV})")
    p.add_argument("--pool", type=int, default=3, help="checkpoints held in memory at once (default 3)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1; 0 = every core). One thread decodes nano DIO fastest, and "
                        "many threads stall badly when training shares the cores (2 threads beside a busy "
                        "core: 15 tokens/s instead of 220)")
    p.add_argument("--max-upload-mb", type=int, default=4096, help="largest upload in MiB (default 4096)")
    p.add_argument("--max-request-kb", type=int, default=4096,
                   help="largest body of any other request, e.g. a chat, in KiB (default 4096)")
    p.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    p.add_argument("--exit-with-parent", action="store_true", help="stop when the parent process goes away")
    return p


def fail(message: str) -> int:
    print(f"realm-node: {message}", file=sys.stderr, flush=True)
    return 2


def settings_from(args: argparse.Namespace) -> NodeSettings | str:
    """NodeSettings, or why the arguments cannot run a node."""
    key = (os.environ.get(args.api_key_env) or "").strip() or None
    if key is None and not is_loopback(args.host):
        return (f"refusing to serve {args.host} without an API key: set the environment variable "
                f"{args.api_key_env} (or name another with --api-key-env), or bind 127.0.0.1")
    models_dir = args.models_dir.expanduser()
    if not models_dir.is_dir():
        return f"--models-dir {models_dir} is not a folder (create it, or point at the checkpoints folder)"
    base_dir = args.base_dir.expanduser() if args.base_dir else None
    if not 1 <= args.pool <= 64:
        return f"--pool must be between 1 and 64 (got {args.pool})"
    if args.threads < 0 or args.max_upload_mb < 1 or args.max_request_kb < 1:
        return "--threads must be >= 0, --max-upload-mb and --max-request-kb >= 1"
    return NodeSettings(models_dir=models_dir, base_dir=base_dir, host=args.host, port=args.port, api_key=key,
                        pool=args.pool, device=args.device, threads=args.threads, max_upload_mb=args.max_upload_mb,
                        max_request_kb=args.max_request_kb)


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    if host == "localhost":
        host = "127.0.0.1"
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(settings: NodeSettings, sock: socket.socket, log_level: str, exit_with_parent: bool) -> None:
    import uvicorn

    from engine.loading import set_threads
    from inference_node.app import create_app
    from inference_node.loading import warm_up

    set_threads(settings.threads)
    warm_up()

    app = create_app(settings)
    removed = app.state.uploader.clean_leftovers()
    config = uvicorn.Config(app, log_level=log_level, access_log=log_level in ("debug", "info"),
                            timeout_graceful_shutdown=5, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.02)
    if server.started:
        if removed:
            logging.getLogger("inference_node").warning("removed %d unfinished uploads", len(removed))
        print(f"{READY_PREFIX}{url_of(sock)}", flush=True)
    if exit_with_parent:
        parent = os.getppid()

        async def watch_parent() -> None:
            while not task.done():
                await asyncio.sleep(1.0)
                if os.getppid() != parent:
                    server.should_exit = True
                    return

        asyncio.create_task(watch_parent())
    await task


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = settings_from(args)
    if isinstance(settings, str):
        return fail(settings)
    if settings.base_dir is not None and not settings.base_dir.is_dir():
        print(f"realm-node: warning: --base-dir {settings.base_dir} is not a folder (yet); 'base' answers 404 "
              "until it is", file=sys.stderr, flush=True)
    from engine.errors import EngineError
    from engine.loading import resolve_device

    try:
        resolve_device(settings.device)
    except EngineError as exc:
        return fail(f"--device {settings.device}: {exc.message}")
    try:
        sock = bind(settings.host, settings.port)
    except OSError as exc:
        return fail(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}")
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        asyncio.run(serve(settings, sock, args.log_level, args.exit_with_parent))
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
