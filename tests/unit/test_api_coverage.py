"""docs/api-coverage.md lists exactly the actions vodflow implements."""

from __future__ import annotations

import re
from pathlib import Path

from vodflow.api.registry import load_all

DOC = Path(__file__).resolve().parents[2] / "docs" / "api-coverage.md"


def documented() -> dict[str, str]:
    """Action name -> the heading of the section that lists it."""
    found: dict[str, str] = {}
    section = ""
    for line in DOC.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        match = re.match(r"^\|\s*`?([A-Z][A-Za-z0-9]+)`?\s*\|", line)
        if match and match.group(1) != "Action":
            found[match.group(1)] = section
    return found


def test_every_implemented_action_is_documented() -> None:
    missing = sorted(set(load_all()) - set(documented()))
    assert not missing, f"add these to docs/api-coverage.md: {missing}"


def test_every_documented_action_is_implemented() -> None:
    extra = sorted(set(documented()) - set(load_all()))
    assert not extra, f"docs/api-coverage.md lists unimplemented actions: {extra}"


def test_extensions_are_listed_as_extensions() -> None:
    docs = documented()
    for name, act in load_all().items():
        assert (docs[name] == "vodflow extensions") == act.extension, name
