"""The OpenAPI schema's one addition to drf-spectacular: the error answers every operation can give,
declared on every operation, with the one error body of ``webapp.api.errors``.

- 401 and 403 wherever a caller must authenticate (all but the public operations);
- 400 ``malformed_request`` / ``invalid_input`` and 404 everywhere (a path, a query, a body);
- 405 never (DRF answers it before the operation);
- 409, 413, 415 and 429 (throttling, step-up lockout) where a request body is taken;
- an operation's own ``responses`` (e.g. 410, 422) are kept and never overwritten.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

# ``{"code": …, "detail": …}`` and, for some codes, more fields (``errors``, ``field``, …). Built inline:
# a serializer class cannot declare a field named ``errors`` (it would hide ``Serializer.errors``).
ErrorOutput = inline_serializer(
    name="Error",
    fields={
        "code": serializers.CharField(help_text="Stable: what went wrong, for machines"),
        "detail": serializers.CharField(help_text="For people"),
        "errors": serializers.DictField(required=False, help_text="invalid_input: the fields and what is wrong"),
    },
)


ERROR_DESCRIPTIONS = {
    "400": "Malformed or invalid input (malformed_request, invalid_input, …)",
    "401": "Not authenticated (not_authenticated, token_invalid, bad_signature, …)",
    "403": "Not allowed (permission_denied, …)",
    "404": "Not found (not_found, key_not_found, …)",
    "409": "Conflicts with the current state",
    "413": "Request body too large (payload_too_large)",
    "415": "Unsupported media type",
    "429": "Too many attempts (step_up_locked, throttled): retry after retry_after seconds",
}
BODY_ERRORS = ("409", "413", "415", "429")


class SequesterAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        public = not self.view.get_permissions() or all(
            type(permission).__name__ == "AllowAny" for permission in self.view.get_permissions()
        )
        wanted = ["400", "404"]
        if not public:
            wanted += ["401", "403"]
        if self.method in ("POST", "PUT", "PATCH"):
            wanted += list(BODY_ERRORS)
        for code in wanted:
            if code not in responses:
                response = self._get_response_for_code(ErrorOutput, code, direction=direction)  # type: ignore[no-untyped-call]
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        return responses


def results_of(item: type[serializers.Serializer[Any]], name: str, *, paginated: bool = False) -> Any:
    """A list answer as the API returns it: ``{"results": [item, …]}`` (an object, so it can grow); a
    paginated one also has ``next`` and ``previous`` (the URLs of the neighbouring pages, or null)."""
    fields: dict[str, Any] = {"results": item(many=True)}
    if paginated:
        fields["next"] = serializers.URLField(allow_null=True, help_text="The next page (null: this is the last)")
        fields["previous"] = serializers.URLField(allow_null=True, help_text="The previous page (null: the first)")
    return inline_serializer(name=name, fields=fields)
