"""Email content from the Jinja2 templates in `templates/`: HTML and plain text for each trigger.

Each trigger has `<trigger>.html` and `<trigger>.txt`, both extending a layout that carries the
unsubscribe link; the text template sets the subject (`{% set subject = ... %}`). HTML is
autoescaped; an undefined variable is an error, never an empty string. To change what customers
read, edit the templates; the variables each receives are documented in docs/marketing.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from hub.domain.marketing import MessageContent
from hub.errors import RenderError

__all__ = ["TEMPLATES", "Renderer"]

TEMPLATES = Path(__file__).resolve().parent / "templates"


class Renderer:
    def __init__(self, folder: Path = TEMPLATES) -> None:
        self._folder = folder

    @cached_property
    def _env(self) -> Any:
        # Imported here: only the functions that send email pay for Jinja2.
        import jinja2

        return jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self._folder)),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(self, trigger: str, context: Mapping[str, Any]) -> MessageContent:
        import jinja2

        values = dict(context)
        if not values.get("unsubscribe_url"):
            raise RenderError("every marketing message needs an unsubscribe link")
        try:
            text_module = self._env.get_template(f"{trigger}.txt").make_module(values)
            subject = str(getattr(text_module, "subject", "") or "").strip()
            if not subject:
                raise RenderError(f"{trigger}.txt sets no subject")
            html = self._env.get_template(f"{trigger}.html").render({**values, "subject": subject})
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"no template {exc.name} for {trigger}") from exc
        except jinja2.TemplateError as exc:
            raise RenderError(f"the {trigger} templates do not render: {exc}") from exc
        return MessageContent(subject=" ".join(subject.split()), html=html, text=_tidy(str(text_module)))


def _tidy(text: str) -> str:
    """At most one blank line in a row, and none at either end."""
    lines: list[str] = []
    for line in text.strip().splitlines():
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines) + "\n"
