"""The yearly report by mail: a coordinator's ``raportti 2026`` (rule ``report-request``)."""

from __future__ import annotations

from mailer import report as yearly
from mailer.handlers.context import HandlerContext
from mailer.inbound.message import InboundMessage
from mailer.matchers.report import report_year


def send_report(ctx: HandlerContext, msg: InboundMessage) -> None:
    """Reply with the report as HTML (charts inside) and text; the text also in the body.

    Without a year it is this year's report so far, in the network's language
    (the coordinator's), like the coordinator's other mail.
    """
    network = ctx.settings.network
    asked = report_year(msg, ctx.rules.words("report.request"), ctx.rules.words("command.courtesy"))
    year = int(asked) if asked else ctx.now.astimezone(network.tz).year
    built = yearly.build(ctx.session, year, ctx.now, network.tz)
    language = network.language
    files = yearly.attachments(ctx.templates, built, language, network)
    text = yearly.render(ctx.templates, built, language, "txt", {}, network)
    ctx.actions.append(f"send the yearly report {year} to {msg.sender}")
    ctx.answer(
        msg, language, "report/mail", kind="report", attachments=files, report=built, text=text
    )
