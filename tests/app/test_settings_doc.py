"""Every web-app setting has help text and is documented in the README's Web app section."""

from __future__ import annotations

from pathlib import Path

from tutor.settings import iter_settings

README = Path(__file__).resolve().parents[2] / "README.md"
WEB = ("MATHTUTOR_HOST", "MATHTUTOR_PORT", "MATHTUTOR_WEB_", "MATHTUTOR_ADMIN_")


def test_web_settings_have_help_and_are_in_the_readme():
    section = README.read_text(encoding="utf-8").split("## Web app", 1)[1]
    names = [(name, help_text) for name, _default, help_text in iter_settings() if name.startswith(WEB)]
    assert len(names) >= 15
    for name, help_text in names:
        assert help_text.strip(), f"{name} has no help text"
        assert f"`{name}`" in section, f"{name} is not documented in the README's Web app section"
