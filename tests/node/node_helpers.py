"""Helpers of the node tests: nano checkpoints, a real `realm-node` subprocess, tar uploads."""

from __future__ import annotations

from dataclasses import dataclass, field

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KEY = "test-node-key-0123456789"


def circled(n: int) -> str:
    return format(n, "b").translate(str.maketrans("01", "⓪①"))


def write_addition_data(path: Path, n: int) -> Path:
    lines = []
    for i in range(n):
        a, b = (i * 7) % 16, (i * 5) % 16
        lines.append(json.dumps({"messages": [{"role": "user", "content": f"{circled(a)}+{circled(b)}="},
                                              {"role": "assistant", "content": circled(a + b)}]},
                                ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def train_checkpoints(base: Path, work: Path, steps: int = 6, save_every: int = 3, **job_extra: Any) -> list[Path]:
    """Really train nano DIO for `steps` steps with `python -m engine run`; the checkpoints, oldest first
    (`job_extra`: more job fields, e.g. method="lora")."""
    from contracts.checkpoint import list_complete

    work.mkdir(parents=True, exist_ok=True)
    data = write_addition_data(work / "quest.jsonl", 96)
    job = {"model_dir": str(base), "data_files": [{"path": data.name, "schema": "chat_sft_v1"}],
           "output_dir": "checkpoints", "threads": 1, "save_every_steps": save_every, "log_every_steps": 1,
           "hyperparameters": {"tokens_per_micro_batch": 256, "max_steps": steps, "warmup_steps": 1,
                               "learning_rate": 0.01}, **job_extra}
    (work / "job.json").write_text(json.dumps(job), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "engine", "run", str(work / "job.json")], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return [p for p, _ in list_complete(work / "checkpoints")]


def make_checkpoint(base: Path, out_dir: Path, step: int, *, noise_seed: int | None = None,
                    profile: str = "none", when: datetime | None = None, resume: bool = False) -> Path:
    """A checkpoint folder written by the engine's own save_checkpoint (weights optionally perturbed)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from contracts.checkpoint import ProfileInfo
    from engine.chat import detect_style
    from engine.checkpointing import save_checkpoint
    from engine.profiles import get_profile

    tok = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    if noise_seed is not None:
        gen = torch.Generator().manual_seed(noise_seed)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn(p.shape, generator=gen) * 0.02)
    prof = get_profile(profile)
    info = prof.describe()
    info["chat_style"] = prof.chat_style or detect_style(tok)
    fields = {"job_step": step, "init_step": 0, "reason": "end", "profile": ProfileInfo(**info),
              "precision": "fp32", "started_from": str(base)}
    path, _ = save_checkpoint(model, tok, out_dir, step, fields, None)
    if when is not None:
        from contracts.checkpoint import format_checkpoint_name
        target = out_dir / format_checkpoint_name(step, when)
        if target != path:
            ledger = json.loads((path / ".ledger.json").read_text())
            ledger["name"] = target.name
            (path / ".ledger.json").write_text(json.dumps(ledger))
            path.rename(target)
            path = target
    return path


def manifest_of(folder: Path, name: str | None = None) -> dict[str, Any]:
    from contracts.checkpoint import sha256_file

    found = [p for p in sorted(folder.rglob("*")) if p.is_file()]
    files = {str(p.relative_to(folder)): sha256_file(p) for p in found}
    sizes = {str(p.relative_to(folder)): p.stat().st_size for p in found}
    return {"name": name or folder.name, "files": files, "sizes": sizes}


def tar_of(folder: Path, *, gzip: bool = False, prefix: str = "") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gzip else "w") as tar:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                tar.add(p, arcname=prefix + str(p.relative_to(folder)))
    return buf.getvalue()


class NodeProcess:
    """`python -m inference_node` as a real subprocess on a free loopback port."""

    def __init__(self, models_dir: Path, *args: str, key: str | None = KEY, base_dir: Path | None = None,
                 threads: int = 1) -> None:
        self.models_dir = models_dir
        self.args = ["--models-dir", str(models_dir), "--port", "0", "--threads", str(threads), *args]
        if base_dir is not None:
            self.args += ["--base-dir", str(base_dir)]
        self.key = key
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: deque[str] = deque(maxlen=200)

    def start(self, timeout: float = 120.0) -> "NodeProcess":
        env = {k: v for k, v in os.environ.items() if not k.startswith("REALM_")}
        env["PYTHONPATH"] = str(ROOT)
        if self.key:
            env["REALM_NODE_KEY"] = self.key
        self.proc = subprocess.Popen([sys.executable, "-m", "inference_node", *self.args], cwd=ROOT, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"realm-node exited ({self.proc.wait()}):\n" + "".join(self.output))
            self.output.append(line)
            if line.startswith("realm-node ready on "):
                self.url = line.split("ready on ", 1)[1].strip()
                threading.Thread(target=self._pump, daemon=True).start()
                return self
        raise AssertionError("realm-node did not get ready:\n" + "".join(self.output))

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    def stop(self) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)


def make_think_loving(base: Path, out_dir: Path, step: int, profile: str, messages: list[dict[str, str]]) -> Path:
    """A checkpoint whose greedy first answer token is `<think>` for `messages` (by a margin of 50
    logits), so that the profile's -100 penalty on it is observable."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from contracts.checkpoint import ProfileInfo
    from engine.chat import detect_style, render_prompt_ids
    from engine.checkpointing import save_checkpoint
    from engine.profiles import get_profile

    tok = AutoTokenizer.from_pretrained(str(base))
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32).eval()
    prof = get_profile(profile)
    style = prof.chat_style or detect_style(tok)
    ids = torch.tensor([render_prompt_ids(tok, prof.transform_messages(messages), style)])
    think = tok.convert_tokens_to_ids("<think>")
    with torch.no_grad():
        h = model.model(input_ids=ids).last_hidden_state[0, -1]
        target = float(model(input_ids=ids).logits[0, -1].max()) + 50.0
        model.get_input_embeddings().weight[think] = h * (target / float(h @ h))
    info = prof.describe()
    info["chat_style"] = style
    fields = {"job_step": step, "init_step": 0, "reason": "end", "profile": ProfileInfo(**info),
              "precision": "fp32", "started_from": str(base)}
    path, _ = save_checkpoint(model, tok, out_dir, step, fields, None)
    return path


def direct_greedy(folder: Path, messages: list[dict[str, str]], max_new_tokens: int) -> str:
    """What Hugging Face `generate` answers greedily, prompt rendered by the engine's renderer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from contracts.checkpoint import read_ledger
    from engine.chat import render_prompt_ids

    tok = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()
    ids = render_prompt_ids(tok, messages, read_ledger(folder).profile.chat_style)  # type: ignore[arg-type]
    out = model.generate(torch.tensor([ids]), max_new_tokens=max_new_tokens, do_sample=False,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    new = out[0, len(ids):].tolist()
    if tok.eos_token_id in new:
        new = new[: new.index(tok.eos_token_id)]
    return tok.decode(new, skip_special_tokens=True)


THINK_MESSAGES = [{"role": "system", "content": "Think inside 🤔 💡, then answer and end with 🏁."},
                  {"role": "user", "content": "①+①="}]


@dataclass
class NodeWorld:
    root: Path
    base: Path
    models: Path
    outside: Path  # checkpoints that are not in the models folder (upload sources)
    trained: list[str] = field(default_factory=list)  # ids of really trained checkpoints, oldest first
