from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.decorators.http import require_http_methods
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from casefile import views as casefile_views
from evaluation.prometheus import metrics_view
from notifications import views as notification_views
from webapp import views
from webapp.api.views import MeApi

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("search/", views.search, name="search"),
    path("metrics", metrics_view, name="metrics"),
    path(
        "login/",
        require_http_methods(["GET", "POST"])(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/v1/me/", MeApi.as_view(), name="api-me"),
    path("api/v1/", include("keyvault.api.urls")),
    path("api/v1/", include("approvals.api.urls")),
    path("api/v1/", include("incidents.api.urls")),
    path("api/v1/", include("casefile.api.urls")),
    path("api/v1/", include("regulatory.api.urls")),
    path("api/v1/", include("notifications.api.urls")),
    path("api/temporal-codec/", include("ir_workflows.codec_urls")),
    path("incidents/", include("incidents.urls")),
    path("approvals/", include("approvals.urls")),
    path("account/", include("approvals.account_urls")),
    path("keys/", include("keyvault.urls")),
    path("case-files/", include("casefile.urls")),
    path("audit/", include("casefile.audit_urls")),
    path("regulatory/", include("regulatory.urls")),
    path("notifications/", include("notifications.urls")),
    path("", include("evaluation.urls")),
    path(".well-known/sequester-audit-key.json", casefile_views.audit_key, name="audit-key"),
    path(
        ".well-known/sequester-casefile-certificate.pem",
        casefile_views.casefile_certificate,
        name="casefile-certificate",
    ),
    path(".well-known/sequester-key-status.json", notification_views.key_status_feed_view, name="key-status-feed"),
]

handler400 = "webapp.error_pages.bad_request"
handler403 = "webapp.error_pages.permission_denied"
handler404 = "webapp.error_pages.page_not_found"
handler500 = "webapp.error_pages.server_error"
