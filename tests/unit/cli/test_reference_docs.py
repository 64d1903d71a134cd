"""docs/configuration.md and docs/cli.md match the code (regenerate with scripts/gen-docs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inngest.cli import reference

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("doc", [reference.CONFIGURATION_DOC, reference.CLI_DOC])
def test_generated_reference_is_current(doc: Path) -> None:
    wanted = reference.expected(ROOT)[ROOT / doc]
    assert (ROOT / doc).read_text() == wanted, f"{doc} is stale: run scripts/gen-docs"


def test_every_setting_is_documented() -> None:
    text = (ROOT / reference.CONFIGURATION_DOC).read_text()
    for row in reference.setting_rows():
        assert row.env.split("`")[1] in text
