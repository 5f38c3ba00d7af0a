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
from app.models import Job
from app.models import OutboxMessage
from app.models import Tenant
from app.models.mail import SUPPRESSED

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


QUEUED_FLAG = "gatehouse.mail_queued"


def send_mail(
    tenant: Tenant | None,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    *,
    suppressed: bool = False,
) -> OutboxMessage:
    """Queue a message (plain text, and an HTML alternative when given) in the caller's
    transaction; the worker sends it (nothing is sent for a rolled-back change, and an
    SMTP outage only delays it). The sender name is the tenant's ``mail_sender_name``,
    else its display name; ``mail_reply_to`` becomes Reply-To. ``suppressed`` writes the
    row as a decoy the worker never delivers (app.models.mail.SUPPRESSED)."""
    from app.services.settings import display_name
    from app.services.settings import get_settings

    sender = current_app.config["MAIL_FROM"]
    reply_to = None
    if tenant is not None:
        settings = get_settings(tenant)
        reply_to = settings["mail_reply_to"] or None
        if "<" in sender:
            name = (settings["mail_sender_name"] or display_name(tenant)).replace('"', "")
            sender = f'"{name}" <{sender.split("<", 1)[1]}'
    message = OutboxMessage(
        tenant_id=tenant.id if tenant else None,
        sender=sender[:400],
        to=to,
        subject=subject[:300],
        body_text=text,
        body_html=html,
        reply_to=reply_to,
        status=SUPPRESSED if suppressed else "pending",
    )
    db.session.add(message)
    db.session.flush()
    db.session.info[QUEUED_FLAG] = True
    return message


def queue_job(tenant: Tenant, kind: str, **args) -> Job:
    """Queue work that may end in a mail (e.g. ``password_reset``), done by the worker."""
    job = Job(tenant_id=tenant.id, kind=kind, args=args, status="pending")
    db.session.add(job)
    db.session.flush()
    db.session.info[QUEUED_FLAG] = True
    return job


def deliver(message: OutboxMessage) -> str:
    """Send one queued message now (the worker's step): ``sent`` over SMTP, or ``logged``
    without SMTP_URL. Raises MailError when the SMTP server fails."""
    config = current_app.config
    if not config.get("SMTP_URL"):
        log.info(
            "mail (no SMTP_URL, kept in the outbox) to=%s subject=%s\n%s",
            message.to,
            message.subject,
            message.body_text,
        )
        return "logged"
    email = EmailMessage()
    email["From"] = message.sender or config["MAIL_FROM"]
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = f"<{message.id}@gatehouse>"
    if message.reply_to:
        email["Reply-To"] = message.reply_to
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    _smtp_send(config["SMTP_URL"], email)
    log.info("mail sent", extra={"to": message.to, "subject": message.subject})
    return "sent"
