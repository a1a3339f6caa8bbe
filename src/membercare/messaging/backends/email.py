"""Email through Django's email framework (SMTP in production; EMAIL_* settings)."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from .base import Backend, PermanentFailure, SendResult, TemporaryFailure


class EmailBackend(Backend):
    def send_many(self, messages: list) -> list[SendResult | Exception]:
        results: list[SendResult | Exception] = []
        try:
            connection = get_connection(fail_silently=False)
            connection.open()
        except (OSError, smtplib.SMTPException) as exc:
            return [TemporaryFailure(f"SMTP connection failed: {exc}") for _m in messages]
        try:
            for message in messages:
                results.append(self._send(connection, message))
        finally:
            try:
                connection.close()
            except (OSError, smtplib.SMTPException):
                pass
        return results

    def send(self, message) -> SendResult:
        result = self.send_many([message])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def _send(self, connection, message) -> SendResult | Exception:
        email = EmailMessage(subject=message.subject or "", body=message.body, to=[message.to],
                             from_email=settings.DEFAULT_FROM_EMAIL, connection=connection,
                             headers={"X-MemberCare-Message": str(message.pk)})
        try:
            email.send()
        except smtplib.SMTPRecipientsRefused as exc:
            return PermanentFailure(f"recipient refused: {exc.recipients}")
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                return TemporaryFailure(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
            return PermanentFailure(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}")
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            return TemporaryFailure(f"SMTP: {exc}")
        return SendResult(provider_id=f"email-{message.pk}", segments=1)
