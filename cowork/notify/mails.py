"""E-mails: booking confirmation (with its .ics), receipt, cancellation, refund, hold expiring,
password reset; each as plain text and HTML in the member's language."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from cowork.domain.notifications import MailTemplate
from cowork.notify.ics import booking_calendar
from cowork.notify.render import BookingEvent, Formatter, values, zone_of
from cowork.notify.texts import text
from cowork.store.notify import Place


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Mail:
    locale: str
    subject: str
    greeting: str
    paragraphs: tuple[str, ...]
    details: tuple[tuple[str, str], ...] = ()
    action: tuple[str, str] | None = None  # (label, url)
    attachment: Attachment | None = None


def booking_mail(
    template: MailTemplate,
    event: BookingEvent,
    place: Place | None,
    *,
    name: str,
    locale: str,
    public_url: str,
    now: datetime,
) -> Mail:
    fmt = Formatter(locale, zone_of(place))
    v = values(event, place, fmt)
    t = template.value
    link = f"{public_url}/#booking={event.booking_id}"
    details = _details(event, place, fmt, locale)
    paragraphs = [text(locale, f"mail.{t}.intro", **v)]
    action = (text(locale, "mail.action.booking"), link)
    attachment = None
    match template:
        case MailTemplate.CONFIRMATION:
            attachment = _invite(event, place, v, link, now, cancelled=False)
        case MailTemplate.RECEIPT:
            label = text(locale, "mail.label.paid")
            details = ((label, fmt.money(event.price_cents, event.currency)), *details)
            details += ((text(locale, "mail.label.date"), fmt.date(now)),)
        case MailTemplate.CANCELLATION:
            key = "mail.cancellation.refund" if v["amount"] else "mail.cancellation.no_refund"
            if event.price_cents > 0:
                paragraphs.append(text(locale, key, **v))
            attachment = _invite(event, place, v, link, now, cancelled=True)
        case MailTemplate.HOLD_EXPIRING:
            action = (text(locale, "mail.action.pay"), link)
    return Mail(
        locale=locale,
        subject=text(locale, f"mail.{t}.subject", **v),
        greeting=text(locale, "mail.greeting", name=name),
        paragraphs=tuple(paragraphs),
        details=details,
        action=action,
        attachment=attachment,
    )


def password_reset_mail(*, name: str, link: str, ttl_minutes: int, locale: str) -> Mail:
    """The body of a password reset e-mail (the accounts flow sends it with `Mailer.send`)."""
    return Mail(
        locale=locale,
        subject=text(locale, "mail.password_reset.subject"),
        greeting=text(locale, "mail.greeting", name=name),
        paragraphs=(
            text(locale, "mail.password_reset.intro", ttl=ttl_minutes),
            text(locale, "mail.password_reset.ignore"),
        ),
        action=(text(locale, "mail.action.reset"), link),
    )


def compose(mail: Mail, *, to: str, sender: str, now: datetime) -> EmailMessage:
    """A multipart/alternative message (text first, HTML preferred), plus any attachment."""
    msg = EmailMessage()
    msg["Subject"] = mail.subject
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=_domain(sender))
    msg["Content-Language"] = mail.locale
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(_plain(mail))
    msg.add_alternative(_html(mail), subtype="html")
    if mail.attachment is not None:
        a = mail.attachment
        msg.add_attachment(
            a.content, maintype=a.maintype, subtype=a.subtype, filename=a.filename, params=a.params
        )
    return msg


def _details(
    event: BookingEvent, place: Place | None, fmt: Formatter, locale: str
) -> tuple[tuple[str, str], ...]:
    rows = [
        (text(locale, "mail.label.booking"), f"#{event.booking_id}"),
        (text(locale, "mail.label.space"), place.space_name if place else f"#{event.space_id}"),
    ]
    if place is not None:
        rows.append((text(locale, "mail.label.location"), place.location_name))
        rows.append((text(locale, "mail.label.address"), f"{place.address}, {place.city}"))
    rows.append((text(locale, "mail.label.when"), fmt.when(event.start, event.end)))
    if event.price_cents > 0:
        price = fmt.money(event.price_cents, event.currency)
        rows.append((text(locale, "mail.label.price"), price))
    return tuple(rows)


def _invite(
    event: BookingEvent,
    place: Place | None,
    v: dict[str, object],
    link: str,
    now: datetime,
    *,
    cancelled: bool,
) -> Attachment:
    where = f"{place.location_name}, {place.address}, {place.city}" if place else ""
    content = booking_calendar(
        booking_id=event.booking_id,
        start=event.start,
        end=event.end,
        summary=f"{v['space']} · {v['location']}" if place else str(v["space"]),
        location=where,
        description=link,
        url=link,
        stamp=now,
        cancelled=cancelled,
    )
    method = "CANCEL" if cancelled else "PUBLISH"
    return Attachment(
        f"booking-{event.booking_id}.ics", content, "text", "calendar", {"method": method}
    )


def _plain(mail: Mail) -> str:
    lines = [mail.greeting, "", *(p + "\n" for p in mail.paragraphs)]
    if mail.details:
        width = max(len(label) for label, _ in mail.details)
        lines += [f"{label.ljust(width)}  {value}" for label, value in mail.details] + [""]
    if mail.action:
        lines += [f"{mail.action[0]}: {mail.action[1]}", ""]
    lines += ["-- ", text(mail.locale, "mail.signature"), text(mail.locale, "mail.footer")]
    return "\n".join(lines) + "\n"


def _html(mail: Mail) -> str:
    e = html.escape
    rows = "".join(
        f'<tr><th align="left" style="padding:4px 12px 4px 0;color:#555">{e(label)}</th>'
        f'<td style="padding:4px 0">{e(value)}</td></tr>'
        for label, value in mail.details
    )
    action = ""
    if mail.action:
        label, url = mail.action
        action = (
            f'<p><a href="{e(url)}" style="display:inline-block;padding:10px 16px;'
            f'background:#1f6feb;color:#fff;text-decoration:none;border-radius:6px">{e(label)}</a></p>'
        )
    paragraphs = "".join(f"<p>{e(p)}</p>" for p in mail.paragraphs)
    return (
        f'<!doctype html><html lang="{e(mail.locale)}"><head><meta charset="utf-8">'
        f"<title>{e(mail.subject)}</title></head>"
        '<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#222;max-width:560px">'
        f"<p>{e(mail.greeting)}</p>{paragraphs}"
        f"{'<table>' + rows + '</table>' if rows else ''}{action}"
        f'<p style="color:#777;font-size:12px">{e(text(mail.locale, "mail.signature"))}<br>'
        f"{e(text(mail.locale, 'mail.footer'))}</p></body></html>"
    )


def _domain(sender: str) -> str:
    address = sender.rsplit("<", 1)[-1].rstrip(">")
    return address.rsplit("@", 1)[-1] or "cowork.invalid"
