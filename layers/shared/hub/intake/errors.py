"""Intake failures, each with the HTTP status the sender gets; messages never carry a secret."""

from __future__ import annotations


class IntakeError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownSourceError(IntakeError):
    status_code = 404


class SignatureError(IntakeError):
    """Missing or wrong signature, or a signed timestamp outside the tolerance."""

    status_code = 401


class MalformedPayloadError(IntakeError):
    """The body or headers are not what the source sends."""

    status_code = 400


class MethodNotAllowedError(IntakeError):
    """A GET to a source that answers no registration challenge."""

    status_code = 405


class TooManyRefusalsError(IntakeError):
    """Too many refused deliveries from one sender, or in all, this minute: slow down and retry."""

    status_code = 429


class PayloadTooLargeError(IntakeError):
    status_code = 413


class NotDurableError(IntakeError):
    """The delivery could not be made durable; the sender must retry."""

    status_code = 503
