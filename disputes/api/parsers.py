"""The API's JSON parser: DRF's, plus the limits a hostile body must not pass.

- nesting deeper than ``MAX_DEPTH`` arrays/objects is a 400, not a RecursionError
  (Python's json module recurses once per level);
- a lone surrogate ("\\ud800" written as a JSON escape: not a character, it
  cannot be encoded, hashed for Idempotency-Key, stored or even echoed in an
  error) anywhere, in a key or a value, is a 400 naming the field.

Before parsing, the body's size is capped by ``DATA_UPLOAD_MAX_MEMORY_SIZE``
(413, see ``api_errors``) and a charset other than UTF-8 is refused (415, see
``middleware``; RFC 8259: JSON between systems is UTF-8).
"""
from __future__ import annotations

import re

from django.utils.translation import gettext as _
from rest_framework import exceptions, parsers

MAX_DEPTH = 32
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(text: str) -> bool:
    return _LONE_SURROGATE.search(text) is not None


def _printable_path(parts: list[str]) -> str:
    """The dotted field name, itself free of lone surrogates (it is echoed)."""
    return _LONE_SURROGATE.sub("\ufffd", ".".join(parts) or "non_field_errors")


def check_parsed_json(data) -> None:
    """Raise ParseError when ``data`` nests deeper than MAX_DEPTH, and
    ValidationError naming the field when a key or string holds a lone surrogate.
    Iterative: a deep value cannot exhaust the stack here either."""
    stack: list[tuple[object, list[str], int]] = [(data, [], 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            if _has_lone_surrogate(value):
                raise exceptions.ValidationError({_printable_path(path): [
                    _("This text contains an invalid character (a lone UTF-16 surrogate). Send valid Unicode text.")]})
            continue
        if isinstance(value, (dict, list)):
            if depth + 1 > MAX_DEPTH:
                raise exceptions.ParseError(
                    _("The JSON body is nested more than %(depth)s levels deep.") % {"depth": MAX_DEPTH})
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                name = str(key)
                if isinstance(key, str) and _has_lone_surrogate(key):
                    raise exceptions.ValidationError({_printable_path([*path, name]): [
                        _("This field name contains an invalid character (a lone UTF-16 surrogate). Send valid Unicode text.")]})
                stack.append((item, [*path, name], depth + 1))


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(
                _("The JSON body is nested more than %(depth)s levels deep.") % {"depth": MAX_DEPTH}) from None
        check_parsed_json(data)
        return data
