"""`python -m engine standby`: a warm engine that gets its job, log and run/engine.lock over a socket."""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import time
from pathlib import Path

from contracts.engine_events import parse_event
from contracts.engine_handover import send_job
from engine_helpers import ROOT, engine_cmd, engine_env, of_type, write_addition_data, write_job


def start_standby() -> tuple[subprocess.Popen, socket.socket]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    proc = subprocess.Popen(engine_cmd("standby", "--fd", str(theirs.fileno())), pass_fds=(theirs.fileno(),),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env=engine_env())
    theirs.close()
    return proc, ours


def lock_is_free(path: Path) -> bool:
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_a_warm_engine_trains_the_job_it_is_handed_and_holds_the_lock_it_is_sent(tmp_path: Path, nano_dir: Path) -> None:
    data = write_addition_data(tmp_path / "quest.jsonl", 120)
    job = write_job(tmp_path / "job.json", model_dir=str(nano_dir), output_dir="checkpoints", threads=1,
                    data_files=[{"path": data.name, "schema": "chat_sft_v1"}], save_every_steps=3,
                    hyperparameters={"max_steps": 6, "tokens_per_micro_batch": 256})
    lock_path = tmp_path / "run" / "engine.lock"
    lock_path.parent.mkdir()
    lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    proc, sock = start_standby()
    try:
        time.sleep(0.5)
        assert proc.poll() is None  # waiting for its job, not training
        send_job(sock, job, tmp_path / "logs" / "engine-quest-1.log", lock_fd)
        sock.close()
        os.close(lock_fd)  # the daemon lets go: the engine alone holds the lock now
        first = proc.stdout.readline()
        assert not lock_is_free(lock_path), "the warm engine must hold run/engine.lock while it trains"
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    events = [parse_event(line) for line in [first, *out.splitlines()] if line.strip()]
    assert proc.returncode == 0, events
    assert events[0].type == "started" and events[-1].type == "result" and events[-1].success
    assert events[-1].global_step == 6 and of_type(events, "step")
    assert [c.global_step for c in of_type(events, "checkpoint") if not c.reused] == [3, 6] and (tmp_path / "checkpoints").is_dir()
    assert lock_is_free(lock_path)  # released when it exited
    log = (tmp_path / "logs" / "engine-quest-1.log").read_text(encoding="utf-8")
    assert "warm engine: imports took" in log and "job.json" in log  # its stderr moved to the battle's log


def test_a_warm_engine_that_is_not_needed_exits_quietly_when_its_socket_closes() -> None:
    proc, sock = start_standby()
    sock.close()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    assert out == ""


def test_a_warm_engine_stops_at_once_on_sigterm_before_its_job() -> None:
    import signal

    proc, sock = start_standby()
    try:
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=30)
    finally:
        sock.close()
    assert proc.returncode == -signal.SIGTERM and out == ""  # nothing to save: it had no job
