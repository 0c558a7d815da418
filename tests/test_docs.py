# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation keeps up with the code: every method and every setting is documented."""

from __future__ import annotations

from pathlib import Path

from hearth.api import declare, docgen
from hearth.config import SETTING_NAMES, env_name

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_api_reference_is_current() -> None:
    assert (DOCS / "api.md").read_text() == docgen.render(), (
        "run: python -m hearth.api.docgen > docs/api.md"
    )
    text = (DOCS / "api.md").read_text()
    for name in declare.METHODS:
        assert f"`{name}`" in text


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text()
    for name in SETTING_NAMES:
        assert f"`{name}`" in text and f"`{env_name(name)}`" in text, name
