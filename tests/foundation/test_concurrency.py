"""A writer committing continuously in another process never makes a polling reader
see 'database is locked' (WAL + busy timeout + short transactions)."""

import asyncio
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from backend.store import Store

WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from backend.store import Store

    async def main(db, seconds):
        n = 0
        async with await Store.open(Path(db)) as store:
            end = time.time() + seconds
            while time.time() < end:
                await store.events.append("warning", {"n": n})
                await store.metrics.add_many([{"quest_id": None, "step": n, "loss": 1.0 / (n + 1)}])
                n += 1
        print(n)

    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
    """
)


@pytest.mark.slow
async def test_reader_never_sees_locked_while_writer_commits(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    async with await Store.open(db, create=True):
        pass
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), "10"], stdout=subprocess.PIPE, text=True)
    polls, changes, errors = 0, 0, []
    async with await Store.open(db) as reader:
        last = await reader.data_version()
        end = time.time() + 10
        while time.time() < end:
            try:
                version = await reader.data_version()
                if version != last:
                    changes += 1
                    last = version
                    await reader.events.recent(20)
                    await reader.metrics.latest()
                    await reader.commands.submit("noop", {}, source="tui")  # the TUI writes commands too
            except Exception as exc:  # noqa: BLE001 - we collect every failure
                errors.append(repr(exc))
            polls += 1
            await asyncio.sleep(0.01)
    out, _ = writer.communicate(timeout=30)
    assert writer.returncode == 0
    assert errors == []
    assert int(out.strip()) > 100, "the writer should have committed continuously"
    assert changes > 50 and polls > 200
