"""The API's JSON parser: DRF's, with the depth cap of ``webapp.api.json_input``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from webapp.api.json_input import json_loads_bounded
from webapp.errors import MalformedRequest


class BoundedJSONParser(JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        raw = stream.read() if stream is not None else b""
        try:
            return json_loads_bounded(raw)
        except MalformedRequest as exc:
            raise ParseError(exc.message) from None


class CloudEventParser(BoundedJSONParser):
    media_type = "application/cloudevents+json"
