"""Dev only: the mail `cowork dev`'s local SMTP sink received, at /dev/mail (subject, to, text,
a link to each message as received), so a newcomer sees the e-mails the platform sends. Any
other environment answers 404, as if the page did not exist."""

from __future__ import annotations

import asyncio
from html import escape

from sanic import Blueprint, HTTPResponse, Request, html, raw
from sanic_ext.extensions.openapi import openapi

from cowork.config import Environment, Settings
from cowork.domain.problems import Problem
from cowork.http.context import services
from cowork.notify.devmail import SinkMail, inbox
from cowork.notify.devmail import raw as raw_message

bp = Blueprint("devmail")

POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_HEADERS = {"Content-Security-Policy": POLICY, "Cache-Control": "no-store"}


@bp.get("/dev/mail")
@openapi.exclude()
async def mail_page(request: Request) -> HTTPResponse:
    settings = _dev_only(request)
    mails = await asyncio.to_thread(inbox, settings.data_dir)
    return html(page(mails, settings), headers=_HEADERS)


@bp.get("/dev/mail/<key:str>")
@openapi.exclude()
async def mail_source(request: Request, key: str) -> HTTPResponse:
    settings = _dev_only(request)
    message = await asyncio.to_thread(raw_message, settings.data_dir, key)
    if message is None:
        raise Problem.NOT_FOUND.error("The local mail sink has no such message.")
    return raw(message, content_type="text/plain; charset=utf-8", headers=_HEADERS)


def _dev_only(request: Request) -> Settings:
    settings = services(request).settings
    if settings.env is not Environment.DEV:
        raise Problem.NOT_FOUND.error("No such resource.")
    return settings


def page(mails: list[SinkMail], settings: Settings) -> str:
    n = settings.notify
    where = f"SMTP {escape(n.smtp_host)}:{n.smtp_port}" if n.smtp_host else "no SMTP server"
    items = "".join(_article(m) for m in mails) or "<p>No mail yet.</p>"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<title>cowork · dev mail</title><link rel="stylesheet" href="/web/style.css"></head>'
        "<body><main><h1>Mail received by the local sink</h1>"
        f'<p class="muted">{len(mails)} message(s), newest first. The platform sends to '
        f"{where}; <code>cowork dev</code> keeps what its sink receives in "
        f"<code>{escape(str(settings.data_dir))}/mail</code>.</p>"
        f"{items}</main></body></html>"
    )


def _article(m: SinkMail) -> str:
    files = f" · attached: {escape(', '.join(m.attachments))}" if m.attachments else ""
    return (
        f'<article class="mail"><h2>{escape(m.subject) or "(no subject)"}</h2>'
        f'<p class="muted">To {escape(m.to)} · from {escape(m.sender)} · '
        f'<time datetime="{m.received_at.isoformat()}">{m.received_at:%Y-%m-%d %H:%M:%S} UTC'
        f"</time>{files} · "
        f'<a href="/dev/mail/{escape(m.key)}">raw message</a></p>'
        f"<pre>{escape(m.text)}</pre></article>"
    )
