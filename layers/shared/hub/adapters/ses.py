"""Marketing email through Amazon SES (v2 SendEmail with a raw MIME message).

Raw, so one message carries the plain-text and HTML parts and the List-Unsubscribe headers
(RFC 2369, and RFC 8058 one-click) that mailbox providers show as an unsubscribe button. The From
address (or its domain) must be a verified SES identity.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from hub.domain.marketing import OutboundMessage
from hub.errors import SesError
from hub.marketing.pages import ONE_CLICK

__all__ = ["SesSender", "mime_message"]


def mime_message(message: OutboundMessage, sender: str, reply_to: str | None = None) -> EmailMessage:
    if message.content is None:
        raise SesError("the message has no email content")
    # Long header values (the unsubscribe link) stay as written: RFC 5322 allows 998 characters a line,
    # and mail clients read List-Unsubscribe only as a plain <URL>, never as an encoded word.
    mime = EmailMessage(policy=SMTP.clone(max_line_length=998))
    mime["From"] = sender
    mime["To"] = message.email
    if reply_to:
        mime["Reply-To"] = reply_to
    mime["Subject"] = message.content.subject
    mime["Date"] = formatdate(usegmt=True)
    mime["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    if message.unsubscribe_url:
        mime["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mime["List-Unsubscribe-Post"] = ONE_CLICK  # RFC 8058: a mail client may POST this to the link
    mime.set_content(message.content.text)
    mime.add_alternative(message.content.html, subtype="html")
    return mime


class SesSender:
    channel = "email"

    def __init__(self, client: Any, sender: str, reply_to: str | None = None) -> None:
        self._client = client
        self._sender = sender
        self._reply_to = reply_to

    def send(self, message: OutboundMessage) -> None:
        raw = mime_message(message, self._sender, self._reply_to).as_bytes()
        try:
            self._client.send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [message.email]},
                Content={"Raw": {"Data": raw}},
                EmailTags=[{"Name": "trigger", "Value": message.trigger}],
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise SesError(f"SES did not send the {message.trigger} message: {code}") from exc
        except BotoCoreError as exc:
            raise SesError(f"SES did not send the {message.trigger} message: {type(exc).__name__}") from exc
