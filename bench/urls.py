"""The project's URLs plus a bare DRF endpoint that returns what encrypt returns (the REST baseline)."""

from __future__ import annotations

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from keyvault.api.permissions import CanEncrypt
from webapp.urls import urlpatterns as project_urls

CANNED = {"ciphertext_b64": "U1FSAQ" + "A" * 70, "key_id": "00000000-0000-0000-0000-000000000000"}


class BareApi(APIView):
    """Same authentication, permission and renderer as the gate; no state check, no crypto."""

    permission_classes = [CanEncrypt]

    def post(self, request: Request) -> Response:
        _ = request.data
        return Response(CANNED)


urlpatterns = [*project_urls, path("bench/bare", BareApi.as_view())]
