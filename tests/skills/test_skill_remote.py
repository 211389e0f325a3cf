"""A skill file naming a URL works through the same code path as a built-in: tested
against a built-in served by uvicorn on loopback, and `realm skill serve` itself."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from backend.questgen import write_quest
from backend.skill_api.client import RemoteSkill, SkillUnavailable
from backend.skill_api.server import create_app
from backend.skill_registry import load_skills
from skills.base import LevelOutOfRange, SkillError

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served_sy(all_skills) -> Iterator[str]:
    """The built-in SY skill served on a free loopback port for this module's tests."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(all_skills["sy"]), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def remote_yaml(folder: Path, url: str, skill_id: str = "wordsfar", max_level: int = 50) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{skill_id}.yaml").write_text(
        f'id: {skill_id}\nname: Far Words\nicon: "✉"\ncolour: "#336699"\ndescription: SY from afar\n'
        f"max_level: {max_level}\ngenerator:\n  url: {url}\n  timeout_s: 20\n", encoding="utf-8")


def test_remote_skill_is_indistinguishable(tmp_path: Path, served_sy: str, sy_skill) -> None:
    remote_yaml(tmp_path, served_sy)
    skills = load_skills(tmp_path)
    far = skills["wordsfar"]
    assert isinstance(far, RemoteSkill)
    info = far.info
    assert info.id == "wordsfar" and info.name == "Far Words" and info.max_level == 50
    assert info.generator_id == "skills.syllo" and info.formats == ["chat_sft_v1", "syllo_v1"]
    assert info.levels == sy_skill.info.levels

    local = sy_skill.sample(7, 6, seed=4, start=10)
    remote = far.sample(7, 6, seed=4, start=10)
    assert [p.skill for p in remote] == ["wordsfar"] * 6
    assert [p.id for p in remote] == [p.id.replace("sy/", "wordsfar/", 1) for p in local]
    assert [(p.messages, p.answer) for p in remote] == [(p.messages, p.answer) for p in local]
    assert [p.record["id"] for p in remote] == [p.id for p in remote]

    assert [p.answer for p in far.eval_set(10)] == [p.answer for p in sy_skill.eval_set(10)]
    for p in remote[:3]:
        assert far.grade(p, p.answer) == sy_skill.grade(local[0].model_copy(update={"answer": p.answer}), p.answer)
        half = "\n".join(p.answer.split("\n")[:2] + ["nope"] * (len(p.answer.split("\n")) - 2))
        grade = far.grade(p, half)
        assert not grade.correct and 0 < grade.score < 1

    with pytest.raises(LevelOutOfRange, match="valid levels: 1-50"):
        far.sample(51, 1, seed=0)


def test_questgen_through_a_remote_skill_writes_the_same_lines(tmp_path: Path, served_sy: str, sy_skill) -> None:
    remote_yaml(tmp_path / "skills", served_sy, skill_id="sy")  # mounted under the same id
    far = load_skills(tmp_path / "skills")["sy"]
    meta_far = write_quest(far, 3, 40, 9, tmp_path / "far.jsonl", "syllo_v1")
    meta_here = write_quest(sy_skill, 3, 40, 9, tmp_path / "here.jsonl", "syllo_v1")
    assert (tmp_path / "far.jsonl").read_bytes() == (tmp_path / "here.jsonl").read_bytes()
    assert meta_far.model_dump(exclude={"created"}) == meta_here.model_dump(exclude={"created"})


def test_server_rejects_bad_requests(served_sy: str) -> None:
    with httpx.Client(base_url=served_sy) as client:
        r = client.post("/sample", json={"level": 99, "count": 1, "seed": 0})
        assert r.status_code == 400 and "valid levels: 1-50" in r.json()["detail"]
        assert client.post("/sample", json={"level": 1, "count": 10**6, "seed": 0}).status_code == 422
        assert client.get("/health").json() == {"ok": True, "skill": "sy"}


def test_server_errors_reach_the_caller(tmp_path: Path, served_sy: str, bin_skill) -> None:
    remote_yaml(tmp_path, served_sy, max_level=50)
    far = load_skills(tmp_path)["wordsfar"]
    foreign = bin_skill.sample(1, 1, seed=0)[0]
    with pytest.raises(SkillError, match="grades skill 'sy', not 'bin'"):
        far.grade(foreign, foreign.answer)


def test_mismatched_levels_and_unreachable_servers(tmp_path: Path, served_sy: str) -> None:
    remote_yaml(tmp_path / "a", served_sy, max_level=30)
    with pytest.raises(SkillUnavailable, match="50 levels but .* says max_level 30"):
        _ = load_skills(tmp_path / "a")["wordsfar"].info
    remote_yaml(tmp_path / "b", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SkillUnavailable, match="unreachable"):
        load_skills(tmp_path / "b")["wordsfar"].sample(1, 1, seed=0)


def test_realm_skill_serve_command(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "backend.cli", "skill", "serve", "bin", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "realm skill serve did not come up"
                time.sleep(0.1)
        assert r.json() == {"ok": True, "skill": "bin"}
        remote_yaml(tmp_path, f"http://127.0.0.1:{port}", skill_id="bin", max_level=30)
        far = load_skills(tmp_path)["bin"]
        (p,) = far.sample(1, 1, seed=0)
        assert far.grade(p, f"  {p.answer}\n").correct
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode is not None
