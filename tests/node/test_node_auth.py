"""Security: every route the app registers but /health answers 401 in OpenAI's shape without
the right key (a walk over `app.routes`, sent to the real node); the node refuses to serve a
non-loopback address without a key; the CLI fails clearly on bad arguments."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx
import pytest

from node_helpers import NodeWorld
from node_helpers import KEY, ROOT, NodeProcess

OPEN = {"/health"}


def registered_routes(world: NodeWorld) -> list[tuple[str, str]]:
    from inference_node.app import create_app
    from inference_node.settings import NodeSettings

    app = create_app(NodeSettings(models_dir=world.models, api_key=KEY))
    out: list[tuple[str, str]] = []

    def walk(routes: list, prefix: str = "") -> None:
        for route in routes:
            nested = getattr(route, "routes", None)
            if nested is not None and not hasattr(route, "endpoint"):
                walk(nested, prefix + getattr(route, "path", ""))
                continue
            for method in sorted(getattr(route, "methods", None) or {"GET"}):
                if method != "HEAD":
                    out.append((method, prefix + route.path))

    walk(app.routes)
    return out


async def test_every_route_but_health_needs_the_key(world: NodeWorld, node: NodeProcess) -> None:
    routes = registered_routes(world)
    paths = {p for _, p in routes}
    assert {"/v1/chat/completions", "/v1/models", "/models/info", "/models/load", "/models/unload",
            "/models/upload", "/health"} <= paths
    bad_headers = [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"},
                   {"Authorization": KEY}, {"Authorization": f"Bearer {KEY}x"}, {"X-Api-Key": KEY}]
    async with httpx.AsyncClient(base_url=node.url, timeout=30) as client:
        for method, path in routes:
            for headers in bad_headers:
                r = await client.request(method, path, headers=headers, json={"model": "checkpoint-3"})
                if path in OPEN:
                    assert r.status_code == 200, (method, path)
                    continue
                assert r.status_code == 401, (method, path, headers, r.status_code)
                err = r.json()["error"]
                assert err["type"] == "invalid_request_error" and err["code"] == "invalid_api_key" and err["message"]
                assert r.headers.get("www-authenticate") == "Bearer"
        for method, path in routes:  # and the right key gets past the guard
            r = await client.request(method, path, headers={"Authorization": f"Bearer {KEY}"}, json={})
            assert r.status_code != 401, (method, path)
        r = await client.get(f"/models/info?api_key={KEY}")
        assert r.status_code == 401
        r = await client.get("/no/such/route")
        assert r.status_code == 401  # nothing about the app shows without the key


def test_key_comparison_is_constant_time() -> None:
    import inspect

    from inference_node import auth

    assert auth.key_matches("abc", "abc") and not auth.key_matches("abd", "abc") and not auth.key_matches(None, "abc")
    assert "hmac.compare_digest" in inspect.getsource(auth.key_matches)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("REALM_")}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "inference_node", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**base, **(env or {})})


def test_no_key_refuses_non_loopback(world: NodeWorld) -> None:
    for host in ("0.0.0.0", "::", "8.8.8.8"):
        proc = run_cli("--models-dir", str(world.models), "--host", host, "--port", "0")
        assert proc.returncode == 2, proc.stderr
        assert "without an API key" in proc.stderr and "REALM_NODE_KEY" in proc.stderr
    proc = run_cli("--models-dir", str(world.models), "--host", "0.0.0.0", "--api-key-env", "MY_NODE_KEY")
    assert proc.returncode == 2 and "MY_NODE_KEY" in proc.stderr


def test_settings_accept_a_key_for_any_host(world: NodeWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from inference_node.cli import build_parser, settings_from
    from inference_node.settings import is_loopback

    monkeypatch.setenv("MY_NODE_KEY", "s3cret")
    args = build_parser().parse_args(["--models-dir", str(world.models), "--host", "0.0.0.0",
                                      "--api-key-env", "MY_NODE_KEY"])
    settings = settings_from(args)
    assert not isinstance(settings, str) and settings.api_key == "s3cret" and "s3cret" not in repr(settings)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")


def test_cli_argument_errors(world: NodeWorld, tmp_path) -> None:
    proc = run_cli("--models-dir", str(tmp_path / "missing"))
    assert proc.returncode == 2 and "--models-dir" in proc.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = run_cli("--models-dir", str(world.models), "--port", str(port))
    assert proc.returncode == 2 and "cannot listen" in proc.stderr
