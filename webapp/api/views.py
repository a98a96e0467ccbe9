"""Identity: who the caller is, how they authenticated, what they may do."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.models import ApiToken
from webapp.roles import user_roles


class MeApi(APIView):
    class OutputSerializer(serializers.Serializer[dict[str, Any]]):
        username = serializers.CharField()
        roles = serializers.ListField(child=serializers.CharField())
        permissions = serializers.ListField(child=serializers.CharField())
        authenticated_by = serializers.ChoiceField(choices=["token", "session"])

    @extend_schema(responses=OutputSerializer, summary="The caller's identity and roles")
    def get(self, request: Request) -> Response:
        user = request.user
        data = {
            "username": user.get_username(),
            "roles": [role.slug for role in user_roles(user)],
            "permissions": sorted(user.get_all_permissions()),
            "authenticated_by": "token" if isinstance(request.auth, ApiToken) else "session",
        }
        return Response(self.OutputSerializer(data).data)
