"""Sending email over the configured SMTP server (the weekly digest, notifications)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage

STARTTLS = ("starttls", "true", "1", "yes")  # GRIDSNAP_SMTP_TLS values that upgrade a plain connection
TLS_MODES = ("ssl",) + STARTTLS
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


class InsecureSmtp(ValueError):
    """The SMTP password would cross the network unencrypted."""


def send_mail(cfg: Mapping, messages: list[EmailMessage]) -> None:
    """Send the messages over one connection to GRIDSNAP_SMTP_HOST, with TLS as configured."""
    if cfg["SMTP_USER"] and cfg["SMTP_TLS"] not in TLS_MODES and cfg["SMTP_HOST"] not in LOCAL_HOSTS:
        raise InsecureSmtp(
            f"refusing to send the SMTP password unencrypted to {cfg['SMTP_HOST']}: "
            "set GRIDSNAP_SMTP_TLS to starttls or ssl"
        )
    # smtplib checks no certificate unless given a context: without one, anyone on the path could
    # pose as the mail server and read SMTP_PASSWORD.
    tls = ssl.create_default_context()
    if cfg["SMTP_TLS"] == "ssl":
        server = smtplib.SMTP_SSL(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=30, context=tls)
    else:
        server = smtplib.SMTP(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=30)
    with server as smtp:
        if cfg["SMTP_TLS"] in STARTTLS:
            smtp.starttls(context=tls)
        if cfg["SMTP_USER"]:
            smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"])
        for msg in messages:
            smtp.send_message(msg)
