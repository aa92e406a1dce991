"""Emails from templates: Jinja2, one folder, a plain-text and an HTML part per email.

    templates/<name>.txt    the subject (block `subject`) and the plain-text body
    templates/<name>.html   the HTML body, autoescaped: event text cannot inject markup
    templates/layout.*      greeting and footer around every body

Undefined variables are errors (StrictUndefined): a template that asks for something the
event's context lacks fails loudly in the tests, not silently in a customer's inbox.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from notifier.domain import Email
from notifier.domain.formatting import one_line

_BLANK_RUNS = re.compile(r"\n{3,}")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")


class RenderError(Exception):
    """A template could not be rendered with an email's context."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def environment() -> Environment:
    return Environment(
        loader=PackageLoader("notifier", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html",), default_for_string=False, default=False
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


class Renderer:
    """Renders an email's subject, text and HTML from its template and context."""

    def __init__(self, env: Environment | None = None) -> None:
        self.env = env or environment()

    def render(self, email: Email) -> Rendered:
        try:
            context = dict(email.context)
            text = self.env.get_template(f"{email.template}.txt")
            subject = one_line("".join(text.blocks["subject"](text.new_context(context))), 250)
            html = self.env.get_template(f"{email.template}.html")
            return Rendered(
                subject=subject,
                text=_tidy(text.render(context)),
                html=html.render({**context, "subject": subject}),
            )
        except Exception as error:  # a template bug or a context it does not fit
            raise RenderError(f"{email.template}: {type(error).__name__}: {error}") from error

    def templates(self) -> list[str]:
        """The names of the emails the folder has (both parts present)."""
        names = self.env.list_templates()
        return sorted(
            n[: -len(".txt")]
            for n in names
            if n.endswith(".txt")
            and not n.startswith(("layout", "_"))
            and f"{n[:-4]}.html" in names
        )


def _tidy(text: str) -> str:
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_RUNS.sub("\n\n", text).strip() + "\n"
