"""``mailer report --year YYYY``: the yearly report as files (spec capability 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mailer import report as yearly
from mailer.config import LANGUAGES
from mailer.errors import ConfigError


def report(
    ctx: typer.Context,
    year: Annotated[int, typer.Option(help="the calendar year, network time")],
    fmt: Annotated[
        list[str] | None,
        typer.Option("--format", help="html, md or txt; repeat for several (default html and txt)"),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="directory to write into")] = Path("."),
    language: Annotated[
        str | None, typer.Option(help="fi, sv or en (default: the network's)")
    ] = None,
) -> None:
    """Write the yearly report: HTML with charts, and text to paste into a grant report."""
    from mailer.cli import _service, out

    formats = list(dict.fromkeys(fmt or ["html", "txt"]))
    unknown = [f for f in formats if f not in yearly.FORMATS]
    if unknown:
        raise ConfigError(f"--format must be html, md or txt, not {', '.join(unknown)}")
    if language is not None and language not in LANGUAGES:
        raise ConfigError(f"--language must be one of {', '.join(LANGUAGES)}")
    if not 1900 < year < 10000:
        raise ConfigError(f"--year {year} is not a year")
    with _service(ctx) as service, service.db.transaction() as session:
        settings = service.settings
        built = yearly.build(session, year, service.clock.now(), settings.network.tz)
        paths = yearly.write(
            service.templates,
            built,
            language or settings.network.language,
            formats,
            out_dir,
            settings.network,
        )
    for path in paths:
        if path.suffix != ".png":
            out.print(str(path))
