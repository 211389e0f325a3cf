"""The import rules of docs/architecture.md, enforced.

- game/ and backend/ never import torch, transformers or engine, directly or
  through what they import (checked in a fresh interpreter) nor lazily inside a
  function (checked on the source).
- skills/ is pure Python: no torch, no network, no HTTP frameworks.
- engine/ is the only package that builds optimizers or runs a training step.
"""

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "engine")
SKILLS_FORBIDDEN = ("torch", "transformers", "engine", "httpx", "fastapi", "uvicorn", "requests", "socket", "aiosqlite", "backend", "game")


def modules_of(package: str) -> list[str]:
    pkg_dir = ROOT / package.replace(".", "/")
    names = [package]
    for info in pkgutil.walk_packages([str(pkg_dir)], prefix=f"{package}."):
        if not info.name.rsplit(".", 1)[-1].startswith("__"):
            names.append(info.name)
    return names


def imported_in_fresh_interpreter(modules: list[str]) -> list[str]:
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def forbidden_loaded(loaded: list[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if m.split(".")[0] in forbidden)


@pytest.mark.parametrize("entry", ["game.app", "backend"])
def test_entry_points_stay_light(entry: str) -> None:
    loaded = imported_in_fresh_interpreter([entry])
    assert forbidden_loaded(loaded, HEAVY) == []


@pytest.mark.parametrize("package", ["game", "backend"])
def test_every_module_stays_light(package: str) -> None:
    loaded = imported_in_fresh_interpreter(modules_of(package))
    assert forbidden_loaded(loaded, HEAVY) == []


def source_imports(package: str) -> list[tuple[str, int, str]]:
    """(file, line, top-level module) for every import statement, even inside functions."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), node.lineno, a.name.split(".")[0]) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(ROOT)), node.lineno, node.module.split(".")[0]))
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
                if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                    found.append((str(path.relative_to(ROOT)), node.lineno, node.args[0].value.split(".")[0]))
    return found


@pytest.mark.parametrize("package", ["game", "backend"])
def test_no_lazy_heavy_imports(package: str) -> None:
    bad = [f"{f}:{line} imports {mod}" for f, line, mod in source_imports(package) if mod in HEAVY]
    assert bad == []


def test_skills_are_pure() -> None:
    bad = [f"{f}:{line} imports {mod}" for f, line, mod in source_imports("skills") if mod in SKILLS_FORBIDDEN]
    assert bad == []


def test_only_engine_trains() -> None:
    """Optimizers and backward passes appear in engine/ only (among the product packages)."""
    bad = []
    for package in ("game", "backend", "inference_node", "skills", "contracts"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            for needle in ("torch.optim", ".backward(", "AdamW(", "optimizer.step("):
                if needle in text:
                    bad.append(f"{path.relative_to(ROOT)} contains {needle}")
    assert bad == []
