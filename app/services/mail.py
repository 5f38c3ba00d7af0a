"""Outgoing mail: real SMTP when SMTP_URL is set, else the log and the dev outbox."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote
from urllib.parse import urlsplit

from flask import current_app

from app.extensions import db
from app.models import OutboxMessage
from app.models import Tenant

log = logging.getLogger("gatehouse.mail")


class MailError(Exception):
    """The SMTP server refused or could not be reached."""


def _smtp_send(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    secure = parts.scheme == "smtps"
    port = parts.port or (465 if secure else 587 if parts.username else 25)
    host = parts.hostname or "localhost"
    try:
        if secure:
            smtp = smtplib.SMTP_SSL(host, port, context=ssl.create_default_context(), timeout=10)
        else:
            smtp = smtplib.SMTP(host, port, timeout=10)
        with smtp:
            if not secure and "starttls=false" not in (parts.query or ""):
                smtp.ehlo()
                if smtp.has_extn("starttls"):
                    smtp.starttls(context=ssl.create_default_context())
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(str(exc)) from exc


def send_mail(tenant: Tenant | None, to: str, subject: str, text: str) -> None:
    """Send a plain-text message; the sender name is the tenant's display name."""
    from app.services.settings import display_name

    config = current_app.config
    message = EmailMessage()
    sender = config["MAIL_FROM"]
    if tenant is not None and "<" in sender:
        sender = f'"{display_name(tenant)}" <{sender.split("<", 1)[1]}'
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    if config.get("SMTP_URL"):
        _smtp_send(config["SMTP_URL"], message)
        log.info("mail sent", extra={"to": to, "subject": subject})
        return
    log.info("mail (no SMTP_URL, kept in the outbox) to=%s subject=%s\n%s", to, subject, text)
    db.session.add(
        OutboxMessage(
            tenant_id=tenant.id if tenant else None, to=to, subject=subject, body_text=text
        )
    )
    db.session.flush()
