"""Generates the errors module from the shared catalog with the errata binary, then sets
Django up. The binary is ``$ERRATA``, else ``target/debug/errata`` of the repository (build it
with ``cargo build -p errata-cli``)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent
REPO = EXAMPLE.parents[1]
CATALOG = REPO / "examples" / "classroom" / "errors.toml"


def errata_binary() -> str:
    binary = os.environ.get("ERRATA") or str(REPO / "target" / "debug" / "errata")
    if not Path(binary).exists():
        pytest.exit(f"no errata binary at {binary}: build it with `cargo build -p errata-cli` or set ERRATA")
    return binary


def errata(*args: str) -> str:
    done = subprocess.run([errata_binary(), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"errata {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return done.stdout


def generate(catalog: Path, target: Path) -> None:
    target.write_text(errata("codegen", str(catalog), "--lang", "python"), encoding="utf-8")


def corpus(catalog: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(errata("conformance", str(catalog)))
    return result


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def pytest_configure(config: pytest.Config) -> None:
    generate(CATALOG, EXAMPLE / "classroom_drf" / "errors.py")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "classroom_drf.settings")
    import django

    django.setup()


@pytest.fixture(autouse=True)
def _fresh_store() -> None:
    from django.core.cache import cache

    from classroom_drf.store import STORE

    STORE.reset()
    cache.clear()
