"""Names typed by people (a customer's name, a merchant's name on a slip) are one
line of visible text.

They are shown in the queue's cells, greet the customer in e-mails, head the
refund letter and go into CSV exports and logs. A line break, a control
character (an escape sequence in a log, a bell), a text-direction override
(U+202E makes "gnp.exe" read "exe.png", and a name read backwards in the
queue) or a name made only of invisible characters (zero-width spaces pass
"required") has no place in one. ``validate_name_line`` is the model fields'
validator, so the public form, the API, the admin and every service that cleans
a model refuse them alike, with a message in the user's language.
"""
from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# The explicit text-direction embeddings, overrides and isolates (Unicode's bidi controls).
_DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Controls (Cc: C0, DEL, C1) and line or paragraph separators (Zl, Zp).
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def _visible(character: str) -> bool:
    return character.isprintable() and not character.isspace()


def validate_name_line(value: str) -> None:
    if any(c in _DIRECTION_CONTROLS or unicodedata.category(c) in _REFUSED_CATEGORIES for c in value):
        raise ValidationError(_("Write it on one line, without control or text-direction characters."),
                              code="control_character")
    if not any(_visible(c) for c in value):
        raise ValidationError(_("Write at least one visible character."), code="invisible")
