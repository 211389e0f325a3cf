"""Shared helpers of the engine tests: data, jobs, running the engine as a real subprocess."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from contracts.engine_events import parse_event

ROOT = Path(__file__).resolve().parents[2]


def circled(n: int, width: int | None = None) -> str:
    bits = format(n, f"0{width}b") if width else format(n, "b")
    return bits.translate(str.maketrans("01", "⓪①"))


def addition_chat(a: int, b: int, width: int | None = None) -> dict[str, Any]:
    return {"messages": [
        {"role": "user", "content": f"{circled(a, width)}+{circled(b, width)}="},
        {"role": "assistant", "content": circled(a + b, width + 1 if width else None)},
    ]}


def write_addition_data(path: Path, n: int, seed: int = 0, max_operand: int = 255,
                        pairs: list[tuple[int, int]] | None = None, width: int | None = None) -> Path:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(n):
            a, b = rng.choice(pairs) if pairs else (rng.randint(0, max_operand), rng.randint(0, max_operand))
            f.write(json.dumps(addition_chat(a, b, width), ensure_ascii=False) + "\n")
    return path


def write_job(path: Path, **fields: Any) -> Path:
    path.write_text(json.dumps(fields, indent=1), encoding="utf-8")
    return path


def engine_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "engine", *args]


def engine_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_engine(job: Path, timeout: float = 240) -> tuple[int, list[Any], str]:
    """Run `python -m engine run job` to the end: (exit code, parsed events, stderr)."""
    proc = subprocess.run(engine_cmd("run", str(job)), capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=engine_env(), stdin=subprocess.DEVNULL)
    events = [parse_event(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, events, proc.stderr


def start_engine(job: Path) -> subprocess.Popen:
    return subprocess.Popen(engine_cmd("run", str(job)), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env=engine_env(), bufsize=1)


def of_type(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]


def wait_for(proc: subprocess.Popen, kind: str, seen: list, timeout: float = 120):
    """Read events until one of `kind` arrives (all read events are appended to `seen`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"engine exited before a {kind} event; stderr:\n{proc.stderr.read()[-3000:]}")
        event = parse_event(line)
        seen.append(event)
        if event.type == kind:
            return event
    raise AssertionError(f"no {kind} event within {timeout}s")


def send(proc: subprocess.Popen, command: str) -> None:
    proc.stdin.write(command + "\n")
    proc.stdin.flush()


def finish(proc: subprocess.Popen, seen: list) -> int:
    out, _ = proc.communicate(timeout=120)
    seen += [parse_event(line) for line in out.splitlines() if line.strip()]
    return proc.returncode
