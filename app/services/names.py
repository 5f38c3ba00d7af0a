"""Names people type and others read: display names, organization, tenant and client names.

One rule for every way in (hosted forms, console, admin API, CLI): the text is normalised
to NFC and trimmed, and refused when it holds control characters (Unicode category Cc:
tabs, line breaks, escapes) or bidirectional embedding, override and isolate characters
(U+202A–U+202E, U+2066–U+2069), which can make a name reverse the text shown next to it.
Templates still isolate such text (``<bdi>``/``dir="auto"``) where it sits beside ours.
"""

from __future__ import annotations

import unicodedata

from flask_babel import gettext as _

from app.services.errors import ValidationFailed

MAX_NAME_LENGTH = 200
BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))


def normalize_name(value: str | None) -> str:
    """NFC, surrounding white space removed."""
    return unicodedata.normalize("NFC", value or "").strip()


def character_problem(text: str) -> str | None:
    """Why ``text`` may not be shown as a name, or None."""
    for char in text:
        if ord(char) in BIDI_CONTROLS:
            return _(
                "Remove the invisible text-direction character (U+%(code)s); it can make a "
                "name read backwards.",
                code=f"{ord(char):04X}",
            )
        if unicodedata.category(char) == "Cc":
            return _("Remove control characters such as tabs and line breaks.")
    return None


def clean_name(
    value: str | None,
    field: str = "name",
    *,
    required: bool = False,
    max_length: int = MAX_NAME_LENGTH,
    length_message: str | None = None,
) -> str:
    """The normalised name; raises ValidationFailed({field: message}) when it breaks a rule."""
    if value is not None and not isinstance(value, str):
        raise ValidationFailed({field: "must be a string"})
    text = normalize_name(value)
    if (required and not text) or len(text) > max_length:
        default = (
            _("Enter a name of 1 to %(max)d characters.", max=max_length)
            if required
            else _("Use at most %(max)d characters.", max=max_length)
        )
        raise ValidationFailed({field: length_message or default})
    problem = character_problem(text)
    if problem:
        raise ValidationFailed({field: problem})
    return text
