"""Every user-facing string lives in ``templates/<lang>/``; this renders them.

A message template is a pair: ``NAME.subject.j2`` (one line) and ``NAME.txt.j2``.
``StrictUndefined`` makes a typo fail in the test that renders every template,
not in a member's inbox.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_time
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mailer.config import LANGUAGES

T = TypeVar("T")
_KILOBYTE = 1024
_MEGABYTE = 1024 * 1024  # as Windows and Outlook count them

_DATETIME_FORMATS = {
    "fi": "EEE d.M.yyyy 'klo' H.mm",
    "sv": "EEE d.M.yyyy 'kl.' H.mm",
    "en": "EEE d MMM yyyy 'at' H:mm",
}
_TIME_FORMATS = {"fi": "H.mm", "sv": "H.mm", "en": "H:mm"}


def _format_decimal(value: Decimal, language: str = "fi") -> str:
    """E.g. "4,5" in Finnish and Swedish, "4.5" in English; a whole number without decimals."""
    return format_decimal(value, format="0.#", locale=language)


def _format_size(size: int, language: str = "fi") -> str:
    """A file size as Outlook shows it: whole kB below a megabyte ("13 kB" not "0,1 MB")."""
    if size < _MEGABYTE:
        return f"{max(1, math.ceil(size / _KILOBYTE))} kB"
    megabytes = Decimal(size / _MEGABYTE).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{_format_decimal(megabytes, language)} MB"


def _plural(count: int, one: str, many: str) -> str:
    """The word that agrees with ``count``: "1 jäsen saa" but "2 jäsentä saa", as the
    three languages all put it (one form for exactly one, the other for the rest)."""
    return one if count == 1 else many


def _csv_cell(value: object) -> str:
    """One quoted CSV cell; a leading = + - @ is defused so a spreadsheet shows it as text."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@"):
        text = "'" + text
    return '"' + text.replace('"', '""') + '"'


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


class Templates:
    def __init__(self, root: Path, timezone: ZoneInfo, default_language: str) -> None:
        self.root = root
        self.tz = timezone
        self.default_language = default_language
        self.env = Environment(
            loader=FileSystemLoader(str(root)),
            undefined=StrictUndefined,
            autoescape=select_autoescape(["html", "html.j2"]),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self.env.filters["datetime"] = self._format_datetime
        self.env.filters["span"] = self._format_span
        self.env.filters["decimal"] = _format_decimal
        self.env.filters["filesize"] = _format_size
        self.env.filters["csv"] = _csv_cell
        self.env.filters["plural"] = _plural

    def _format_datetime(self, value: datetime, language: str = "fi") -> str:
        return format_datetime(
            value.astimezone(self.tz), _DATETIME_FORMATS[language], locale=language
        )

    def _format_span(self, start: datetime, end: datetime, language: str = "fi") -> str:
        """E.g. "to 11.2.2027 klo 13.00-14.00" (an en dash); the end's date only on another day."""
        first = self._format_datetime(start, language)
        local_end = end.astimezone(self.tz)
        if local_end.date() != start.astimezone(self.tz).date():
            return f"{first} \u2013 {self._format_datetime(end, language)}"
        return f"{first}\u2013{format_time(local_end, _TIME_FORMATS[language], locale=language)}"

    def language(self, wanted: str | None) -> str:
        return wanted if wanted in LANGUAGES else self.default_language

    def by_language(
        self, items: Iterable[T], language_of: Callable[[T], str | None]
    ) -> dict[str, list[T]]:
        """``items`` grouped by the language each reads, so that a mail to many is rendered
        once per language however many read it (an unknown language reads the default)."""
        groups: dict[str, list[T]] = {}
        for item in items:
            groups.setdefault(self.language(language_of(item)), []).append(item)
        return groups

    def render(self, language: str | None, name: str, **context: Any) -> Rendered:
        lang = self.language(language)
        context.setdefault("lang", lang)
        subject = self.env.get_template(f"{lang}/{name}.subject.j2").render(**context)
        text = self.env.get_template(f"{lang}/{name}.txt.j2").render(**context)
        return Rendered(subject=" ".join(subject.split()), text=text)

    def text(self, language: str | None, name: str, **context: Any) -> str:
        """A fragment (``NAME.txt.j2`` only), e.g. a footer or a CLI message."""
        lang = self.language(language)
        context.setdefault("lang", lang)
        return self.env.get_template(f"{lang}/{name}.txt.j2").render(**context)

    def labels(self, language: str | None, name: str) -> dict[str, str]:
        """Words code puts together (chart labels, anonymising marks): ``key = text`` a line."""
        pairs = (line.partition("=") for line in self.text(language, name).splitlines())
        return {key.strip(): value.strip() for key, sep, value in pairs if sep}

    def names(self) -> list[str]:
        """Every message or fragment name, as found under the default language."""
        base = self.root / self.default_language
        found = {str(p.relative_to(base)).removesuffix(".txt.j2") for p in base.rglob("*.txt.j2")}
        return sorted(found)
