"""Case files over the API: ask for one (202), poll its progress, download the signed PDF."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from casefile.models import CaseFileExport
from casefile.services import casefile_download, casefile_get, casefile_request
from keyvault.api.permissions import any_of
from webapp.api.actors import actor_from_request
from webapp.pagination import API_MAX_PAGE_SIZE, api_page

CanExport = any_of("webapp.export_case_files")


def export_summary(export: CaseFileExport) -> dict[str, Any]:
    return {
        "id": str(export.pk),
        "incident": export.incident.reference,
        "status": export.status,
        "progress": export.progress,
        "stage": export.stage,
        "requested_by": export.requested_by.get_username(),
        "requested_at": export.requested_at.isoformat(),
        "finished_at": export.finished_at.isoformat() if export.finished_at else None,
        "error": export.error or None,
        "sha256": export.sha256 or None,
        "size": export.size or None,
        "pages": export.pages or None,
        "events": export.events or None,
        "signer": export.signer or None,
        "pdf": reverse("api-casefile-pdf", args=[export.pk]) if export.status == CaseFileExport.Status.DONE else None,
    }


class IncidentCaseFileApi(APIView):
    permission_classes = [CanExport]

    @extend_schema(
        summary="Ask for an incident's signed case file (rendered in the background)",
        request=None,
        responses={202: OpenApiTypes.OBJECT},
        operation_id="incident_case_file_create",
    )
    def post(self, request: Request, reference: str) -> Response:
        export = casefile_request(reference=reference, user=request.user, actor=actor_from_request(request))
        body = export_summary(casefile_get(export.pk)) | {"status_url": reverse("api-casefile", args=[export.pk])}
        return Response(body, status=status.HTTP_202_ACCEPTED)


class CaseFileListApi(APIView):
    permission_classes = [CanExport]

    @extend_schema(
        summary="Case-file exports, newest first, a page at a time (?incident=INC-…, ?status=)",
        description=f"?page_size= (at most {API_MAX_PAGE_SIZE}); the cursor is in next/previous.",
        responses=OpenApiTypes.OBJECT,
        operation_id="case_files_list",
    )
    def get(self, request: Request) -> Response:
        exports = CaseFileExport.objects.select_related("incident", "requested_by")
        if incident := request.query_params.get("incident"):
            exports = exports.filter(incident__reference=incident)
        if wanted := request.query_params.get("status"):
            exports = exports.filter(status=wanted)
        return api_page(
            request=request,
            view=self,
            queryset=exports,
            ordering=("-requested_at", "-id"),
            present=lambda rows: [export_summary(e) for e in rows],
        )


class CaseFileApi(APIView):
    permission_classes = [CanExport]

    @extend_schema(
        summary="A case-file export: status and progress", responses=OpenApiTypes.OBJECT, operation_id="case_file_get"
    )
    def get(self, request: Request, export_id: str) -> Response:
        return Response(export_summary(casefile_get(export_id)))


class CaseFilePdfApi(APIView):
    permission_classes = [CanExport]

    @extend_schema(
        summary="The signed PDF/A-3 case file",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        operation_id="case_file_pdf",
    )
    def get(self, request: Request, export_id: str) -> HttpResponse:
        export, pdf = casefile_download(export_id=export_id, actor=actor_from_request(request))
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        response["X-Content-SHA256"] = export.sha256
        return response
