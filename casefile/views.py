"""Case-file pages: ask for one from the incident page, watch it render, download it; the audit key."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit.models import AuditCheckpoint
from audit.offline_verifier import REQUIREMENTS
from audit.signing import public_key_b64, public_key_pem, published_key_entries, signing_key_id
from casefile.certificates import casefile_certificates, casefile_certificates_pem
from casefile.errors import CaseFileNotFound, CaseFileNotReady
from casefile.models import CaseFileExport
from casefile.services import casefile_download, casefile_get, casefile_request
from incidents.errors import IncidentNotFound
from keyvault.api.views import key_inventory_response
from keyvault.services.inventory import FORMATS
from webapp.api.actors import actor_from_request
from webapp.pagination import html_page
from webapp.permissions import require_any

EXPORT = "webapp.export_case_files"
VERIFIER = Path(__file__).resolve().parent.parent / "audit" / "offline_verifier.py"


def _export(export_id: str) -> CaseFileExport:
    try:
        return casefile_get(export_id)
    except CaseFileNotFound:
        raise Http404("no such case file") from None


@login_required
@require_POST
def casefile_new(request: HttpRequest, reference: str) -> HttpResponse:
    require_any(request, EXPORT)
    try:
        export = casefile_request(reference=reference, user=request.user, actor=actor_from_request(request))
    except IncidentNotFound:
        raise Http404("no such incident") from None
    return redirect("casefile-page", export.pk)


@login_required
@require_GET
def casefile_list(request: HttpRequest) -> HttpResponse:
    require_any(request, EXPORT)
    page = html_page(
        request, CaseFileExport.objects.select_related("incident", "requested_by").order_by("-requested_at", "-id")
    )
    return render(request, "casefile/list.html", {"exports": page.items, "page": page})


@login_required
@require_GET
def casefile_page(request: HttpRequest, export_id: str) -> HttpResponse:
    require_any(request, EXPORT)
    return render(request, "casefile/page.html", {"export": _export(export_id)})


@login_required
@require_GET
def casefile_live(request: HttpRequest, export_id: str) -> HttpResponse:
    require_any(request, EXPORT)
    return render(request, "casefile/_status.html", {"export": _export(export_id)})


@login_required
@require_GET
def casefile_pdf(request: HttpRequest, export_id: str) -> HttpResponse:
    require_any(request, EXPORT)
    try:
        export, pdf = casefile_download(export_id=export_id, actor=actor_from_request(request))
    except CaseFileNotFound:
        raise Http404("no such case file") from None
    except CaseFileNotReady as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["X-Content-SHA256"] = export.sha256
    return response


def verifier_requirements() -> str:
    """The packages the offline verifier needs, pinned to the versions this server runs (and tests) with."""
    return " ".join(f"{name}=={version(name)}" for name in REQUIREMENTS)


@login_required
@require_GET
def audit_page(request: HttpRequest) -> HttpResponse:
    require_any(request, "webapp.view_audit", EXPORT)
    checkpoints = AuditCheckpoint.objects.order_by("-seq")[:20]
    context = {
        "key_id": signing_key_id(),
        "key_b64": public_key_b64(),
        "key_pem": public_key_pem(),
        "keys": published_key_entries(),
        "certificates": casefile_certificates(),
        "requirements": verifier_requirements(),
        "tsa_url": settings.SEQUESTER_TSA_URL,
        "tsa_certificate": bool(settings.SEQUESTER_TSA_CERT_FILE),
    }
    return render(request, "casefile/audit.html", context | {"checkpoints": checkpoints})


@login_required
@require_GET
def offline_verifier(request: HttpRequest) -> FileResponse:
    require_any(request, "webapp.view_audit", EXPORT)
    return FileResponse(VERIFIER.open("rb"), as_attachment=True, filename="offline_verifier.py")


@require_GET
def audit_key(request: HttpRequest) -> JsonResponse:
    """Public, like a JWKS: the key that signs audit checkpoints (and, under ``keys``, every key earlier
    checkpoints were signed with), for anyone verifying a bundle. ``offline_verifier.py --public-key``
    reads this document as it is."""
    return JsonResponse(
        {
            "algorithm": "Ed25519",
            "key_id": signing_key_id(),
            "public_key": public_key_b64(),
            "pem": public_key_pem(),
            "keys": published_key_entries(),
        }
    )


@require_GET
def casefile_certificate(request: HttpRequest) -> HttpResponse:
    """Public: the certificates that sign case files (current first, then earlier ones), each with its
    SHA-256 fingerprint and validity — the trust anchor for ``offline_verifier.py --certificate``."""
    return HttpResponse(casefile_certificates_pem(), content_type="application/x-pem-file; charset=utf-8")


@login_required
@require_GET
def key_inventory(request: HttpRequest) -> HttpResponse:
    """The auditor's download of the key inventory (CSV or JSON), for sampling."""
    require_any(request, "webapp.view_audit")
    chosen = request.GET.get("format", "csv")
    if chosen not in FORMATS:
        return HttpResponse("format: csv or json", status=400, content_type="text/plain")
    return key_inventory_response(chosen, actor_from_request(request))
