"""The built-in guard checks: deterministic detectors for PII, secrets and toxic language.

Each detector returns where it found something, as `(kind, start, end)` spans of the text
it was given; nothing here keeps or returns the matched text itself. The detectors are
regular expressions with a validation step where one exists (Luhn for card numbers,
mod-97 for IBANs), so a plain number or a timestamp is not taken for a card.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

__all__ = ["BUILTIN", "KIND_NAMES", "Span", "describe", "pattern_spans"]

Span = tuple[str, int, int]  # (kind, start, end)

# --- pii --------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
# With separators, so that ids, dates and plain runs of digits are not phone numbers.
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    r"\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"  # +46 70 123 45 67, +1-555-123-4567
    r"|\(\d{3}\)[ .-]?\d{3}[ .-]\d{4}"  # (555) 123-4567
    r"|\d{3}[.-]\d{3}[.-]\d{4}"  # 555-123-4567
    r")(?![\w-])"
)
# 13-19 digits, optionally grouped by spaces or dashes, starting as the card networks do.
_CARD = re.compile(r"(?<![\w-])(?:4|5[1-5]|2[2-7]|3[47]|6(?:011|5))(?:[ -]?\d){11,17}(?![\w-])")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])")


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _iban_valid(raw: str) -> bool:
    iban = raw.replace(" ", "")
    if not 15 <= len(iban) <= 34:
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _pii(text: str) -> list[Span]:
    spans: list[Span] = []
    for match in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and _luhn(digits):
            spans.append(("card_number", match.start(), match.end()))
    spans += [("iban", m.start(), m.end()) for m in _IBAN.finditer(text) if _iban_valid(m.group())]
    spans += [("email", m.start(), m.end()) for m in _EMAIL.finditer(text)]
    for match in _PHONE.finditer(text):
        if 8 <= sum(ch.isdigit() for ch in match.group()) <= 15:
            spans.append(("phone_number", match.start(), match.end()))
    return spans


# --- secrets ----------------------------------------------------------------------------

_SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "private_key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|[^\n]*)", re.S
        ),
    ),
    ("api_key", re.compile(r"(?<![\w-])sk-[A-Za-z0-9_-]{20,}")),  # OpenAI, Anthropic (sk-ant-...)
    ("stripe_key", re.compile(r"(?<![\w-])(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("aws_access_key_id", re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")),
    ("github_token", re.compile(r"(?<![\w-])(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})")),
    ("slack_token", re.compile(r"(?<![\w-])xox[abposr]-[A-Za-z0-9-]{10,}")),
    ("google_api_key", re.compile(r"(?<![\w-])AIza[0-9A-Za-z_-]{35}")),
    ("jwt", re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
)


def _secrets(text: str) -> list[Span]:
    return [(kind, m.start(), m.end()) for kind, pattern in _SECRETS for m in pattern.finditer(text)]


# --- toxicity ---------------------------------------------------------------------------

_TOXIC_WORDS = (
    "idiot",
    "idiots",
    "stupid",
    "moron",
    "morons",
    "imbecile",
    "dumbass",
    "loser",
    "losers",
    "scum",
    "worthless",
    "jerk",
    "bastard",
    "asshole",
    "bitch",
    "fuck",
    "fucking",
    "shit",
    "shut up",
    "hate you",
    "kill yourself",
)
_TOXIC = re.compile(r"\b(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in _TOXIC_WORDS) + r")\b", re.I)


def _toxicity(text: str) -> list[Span]:
    return [("toxic_language", m.start(), m.end()) for m in _TOXIC.finditer(text)]


BUILTIN: dict[str, Callable[[str], list[Span]]] = {"pii": _pii, "secrets": _secrets, "toxicity": _toxicity}

KIND_NAMES = {
    "email": "an email address",
    "phone_number": "a phone number",
    "card_number": "a payment card number",
    "iban": "an IBAN",
    "private_key": "a private key",
    "api_key": "an API key",
    "stripe_key": "a Stripe key",
    "aws_access_key_id": "an AWS access key id",
    "github_token": "a GitHub token",
    "slack_token": "a Slack token",
    "google_api_key": "a Google API key",
    "jwt": "a JSON Web Token",
    "toxic_language": "toxic language",
}


def describe(kind: str) -> str:
    """A finding's kind in a sentence: 'an email address', 'a match for custom_patterns[0]'."""
    return KIND_NAMES.get(kind, f"a match for {kind}")


def pattern_spans(patterns: Iterable[re.Pattern[str]], text: str) -> list[Span]:
    """Matches of a guard's own patterns, each kind named after its pattern's place in the list."""
    return [
        (f"custom_patterns[{i}]", m.start(), m.end())
        for i, pattern in enumerate(patterns)
        for m in pattern.finditer(text)
        if m.end() > m.start()
    ]
