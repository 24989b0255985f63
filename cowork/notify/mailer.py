"""Sending e-mail over SMTP with aiosmtplib (STARTTLS, implicit TLS or plain for a dev sink)."""

from __future__ import annotations

import ssl
from email.message import EmailMessage

import aiosmtplib

from cowork.config import NotifySettings
from cowork.domain.delivery import Outcome, classify_smtp
from cowork.notify.channels import SendResult


class Mailer:
    def __init__(self, settings: NotifySettings, *, tls_context: ssl.SSLContext | None = None):
        self._s = settings
        self._tls_context = tls_context
        self.sender = settings.mail_from

    async def send(self, message: EmailMessage) -> SendResult:
        """One message, one SMTP session; the reply code says whether to retry."""
        s = self._s
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_user or None,
                password=s.smtp_password or None,
                use_tls=s.smtp_tls == "tls",
                start_tls=s.smtp_tls == "starttls",
                tls_context=self._tls_context,
                timeout=s.send_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            code = max(codes) if codes else None
            return SendResult(classify_smtp(code), code, detail=str(exc)[:500])
        except aiosmtplib.SMTPResponseException as exc:
            return SendResult(classify_smtp(exc.code), exc.code, detail=exc.message[:500])
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return SendResult(classify_smtp(None), detail=repr(exc)[:500])
        return SendResult(Outcome.SENT, 250)
