"""Strict base64 fields: bad base64 is a clear 400, never a 500."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator


class Base64Field(serializers.CharField):
    default_error_messages = {"invalid_base64": "Not valid base64 (standard alphabet, with padding)."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)
        # Strict base64 admits ASCII only, surrogates included out: CharField's per-character
        # surrogate check would walk every character of the payload for nothing.
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitSurrogateCharactersValidator)]

    def to_internal_value(self, data: Any) -> bytes:  # type: ignore[override]
        text = super().to_internal_value(data)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            self.fail("invalid_base64")
            raise  # unreachable: fail() raises

    def to_representation(self, value: Any) -> str:
        return base64.b64encode(value).decode("ascii")


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")
