"""``States.Base64Encode``, ``States.Base64Decode`` and ``States.Hash``.

They share AWS's limit of 10,000 characters (counted as Java counts them) on the text
they encode, decode or hash.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from typing import Any, Final

from workflows.engine.intrinsics.arguments import string_argument
from workflows.engine.intrinsics.errors import InvalidArguments
from workflows.engine.intrinsics.java_text import java_text, utf16_length

_MAX_TEXT_CHARS: Final = 10_000


def fn_base64_encode(value: Any) -> str:
    text = string_argument(value, "States.Base64Encode")
    if utf16_length(text) > _MAX_TEXT_CHARS:
        raise InvalidArguments("States.Base64Encode")
    return base64.b64encode(text.encode("utf-8", "replace")).decode("ascii")


_NOT_BASE64: Final = re.compile(r"[^A-Za-z0-9+/]")
_URL_SAFE: Final = str.maketrans("-_", "+/")


def fn_base64_decode(value: Any) -> str:
    # AWS decodes leniently: characters outside the alphabet are skipped, padding ends
    # the data, missing padding is fine, and the URL-safe alphabet is accepted too.
    text = string_argument(value, "States.Base64Decode")
    if utf16_length(text) > _MAX_TEXT_CHARS:
        raise InvalidArguments("States.Base64Decode")
    data = _NOT_BASE64.sub("", text.split("=", 1)[0].translate(_URL_SAFE))
    if len(data) % 4 == 1:
        data = data[:-1]
    try:
        raw = base64.b64decode(data + "=" * (-len(data) % 4))
    except binascii.Error:
        raise InvalidArguments("States.Base64Decode") from None
    return raw.decode("utf-8", "replace")


_HASHES: Final[dict[str, Callable[[bytes], Any]]] = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


def fn_hash(data: Any, algorithm: Any) -> str:
    digest = _HASHES.get(algorithm) if type(algorithm) is str else None
    if digest is None:
        raise InvalidArguments("States.Hash")
    text = data if type(data) is str else java_text(data)  # AWS hashes 1 as "1"
    if utf16_length(text) > _MAX_TEXT_CHARS:
        raise InvalidArguments("States.Hash")
    return str(digest(text.encode("utf-8", "replace")).hexdigest())
