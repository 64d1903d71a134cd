"""Fixtures for the CLI tests: a clean INNGEST_* environment and a fake server."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest
from cli_fakes import FakeServer


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No INNGEST_* variable of the developer's shell may leak into a test; wide, plain output."""
    for name in list(os.environ):
        if name.upper().startswith("INNGEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> FakeServer:
    fake = FakeServer()
    try:
        import inngest.server as real
    except ImportError:
        module = types.ModuleType("inngest.server")
        module.run = fake.run  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, "inngest.server", module)
    else:
        monkeypatch.setattr(real, "run", fake.run)
    return fake
