"""E-mail for alerts, when a mail server and recipients are configured (`KONTINGENT_SMTP_*`,
`KONTINGENT_ALERT_EMAIL`); without them alerts are only recorded in `dq.pipeline_alerts`."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from orchestration.config import OrchestrationConfig, get_config

log = logging.getLogger(__name__)


def send_email(subject: str, body: str, config: OrchestrationConfig | None = None) -> bool:
    """Send one message; False when mail is not configured or the server refused it (an alert
    must never fail the task that raises it)."""
    config = config or get_config()
    if not (config.smtp_host and config.alert_email):
        return False
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.smtp_from
    message["To"] = ", ".join(config.alert_email)
    message.set_content(body)
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=30) as smtp:
            if config.smtp_user:
                smtp.starttls()
                smtp.login(config.smtp_user, config.smtp_password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("alert e-mail not sent: %s", exc)
        return False
    return True
