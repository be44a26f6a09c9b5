"""The yearly report's charts: small PNGs drawn with matplotlib.

The Agg backend draws without a display (the daemon and CI have none) and the
DejaVu fonts matplotlib ships cover Finnish and Swedish letters, so nothing is
fetched at run time. matplotlib is imported on first use: the daemon and every
other command start without paying for it. Words on a chart come from the
caller (the templates' ``report/chart_labels``), never from here.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from babel.numbers import format_decimal

if TYPE_CHECKING:
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

    from mailer.handlers.polls import Tally
    from mailer.report import Month, OrganisationCount

_DARK, _LIGHT = "#1f5f8b", "#9cc3de"
_DPI = 80


def _figure(width: float, height: float, left: float = 0.08) -> Figure:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    # A bare Figure (not pyplot): no global state, nothing kept between reports. Fixed
    # margins, not a layout engine: measuring every label took half of a chart's time.
    figure = Figure(figsize=(width, height), dpi=_DPI)
    figure.subplots_adjust(left=left, right=0.98, top=0.95, bottom=0.6 / height)
    return figure


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def questions(months: Sequence[Month], labels: dict[str, str]) -> bytes:
    """Questions received and answered, month by month."""
    figure = _figure(8, 3.2)
    axes = figure.subplots()
    x = [m.month for m in months]
    axes.bar(
        [v - 0.2 for v in x],
        [m.received for m in months],
        0.4,
        color=_LIGHT,
        label=labels["received"],
    )
    axes.bar(
        [v + 0.2 for v in x],
        [m.answered for m in months],
        0.4,
        color=_DARK,
        label=labels["answered"],
    )
    axes.set_xticks(x)
    axes.set_xlabel(labels["month"])
    axes.legend(frameon=False)
    _whole_numbers(axes.yaxis)
    return _png(figure)


def posts(months: Sequence[Month], labels: dict[str, str]) -> bytes:
    """Accepted posts to the members' list, month by month."""
    figure = _figure(8, 2.6)
    axes = figure.subplots()
    x = [m.month for m in months]
    axes.bar(x, [m.posts for m in months], 0.6, color=_DARK, label=labels["posts"])
    axes.set_xticks(x)
    axes.set_xlabel(labels["month"])
    axes.legend(frameon=False)
    _whole_numbers(axes.yaxis)
    return _png(figure)


def members(organisations: Sequence[OrganisationCount], labels: dict[str, str]) -> bytes:
    """Members per organisation at the start and the end of the year (the biggest 20)."""
    shown = list(organisations)[:20][::-1]
    figure = _figure(8, 1.2 + 0.3 * max(len(shown), 1), left=0.25)
    axes = figure.subplots()
    y = list(range(len(shown)))
    axes.barh(
        [v + 0.2 for v in y], [o.start for o in shown], 0.4, color=_LIGHT, label=labels["start"]
    )
    axes.barh([v - 0.2 for v in y], [o.end for o in shown], 0.4, color=_DARK, label=labels["end"])
    axes.set_yticks(y, [o.name for o in shown])
    axes.legend(frameon=False, loc="lower right")
    _whole_numbers(axes.xaxis)
    return _png(figure)


def ratings(
    distribution: Sequence[tuple[Decimal, int]], labels: dict[str, str], language: str
) -> bytes:
    """How many gave each rating, 1 to 5 in half points (written "4,5" in Finnish)."""
    figure = _figure(5, 2.4, left=0.14)
    axes = figure.subplots()
    x = [float(value) for value, _ in distribution]
    axes.bar(x, [count for _, count in distribution], 0.4, color=_DARK)
    axes.set_xticks(
        x, [format_decimal(value, format="0.#", locale=language) for value, _ in distribution]
    )
    axes.set_xlabel(labels["rating"])
    axes.set_ylabel(labels["answers"])
    _whole_numbers(axes.yaxis)
    return _png(figure)


def poll(result: Tally, labels: dict[str, str]) -> bytes:
    """A poll's votes per option, most votes on top."""
    rows = result.rows[::-1]
    figure = _figure(7, 1.0 + 0.35 * max(len(rows), 1), left=0.38)
    axes = figure.subplots()
    y = list(range(len(rows)))
    axes.barh(y, [votes for _, _, votes, _ in rows], 0.6, color=_DARK)
    axes.set_yticks(y, [_short(text) for _, text, _, _ in rows])
    axes.set_xlabel(labels["votes"])
    _whole_numbers(axes.xaxis)
    return _png(figure)


def _whole_numbers(axis: Axis) -> None:
    """Counts have no halves: ticks at whole numbers only."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"
