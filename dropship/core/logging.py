"""A logging filter that blanks out things that look like secrets before a line is written."""

import logging
import re

_PATTERNS = [
    # key=value and "key": "value" pairs whose key names a secret
    re.compile(
        r"""(?ix)
        (?P<key>["']?(?:access_token|token|secret|password|api[_-]?key|authorization|consumer_(?:key|secret)
            |client_secret|webhook_secret|card|cvc|shipping_address|address1|address2)["']?\s*[:=]\s*)
        (?P<value>"[^"]*"|'[^']*'|[^\s,&}]+)
        """
    ),
    # bearer tokens and well-known key shapes anywhere in a line
    re.compile(r"(?i)(?P<key>bearer\s+)(?P<value>[A-Za-z0-9._~+/=-]{8,})"),
    re.compile(r"(?P<key>)(?P<value>\b(?:sk|rk|whsec|shpat|shpca|ck|cs|dsk)_[A-Za-z0-9_]{8,})"),
]


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: f"{m.group('key')}[redacted]", text)
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
