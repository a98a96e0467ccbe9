from django.urls import path

from regulatory.api import views

urlpatterns = [
    path("regulatory/assess", views.AssessApi.as_view(), name="api-regulatory-assess"),
    path("regulatory/profile", views.ProfileApi.as_view(), name="api-regulatory-profile"),
    path("incidents/<str:reference>/assessments", views.AssessmentsApi.as_view(), name="api-assessments"),
    path("incidents/<str:reference>/assessments/prefill", views.PrefillApi.as_view(), name="api-assessment-prefill"),
    path("incidents/<str:reference>/obligations", views.ObligationsApi.as_view(), name="api-obligations"),
    path(
        "incidents/<str:reference>/obligations/<str:rule_id>/signoff",
        views.SignoffApi.as_view(),
        name="api-obligation-signoff",
    ),
    path(
        "incidents/<str:reference>/obligations/<str:rule_id>/filings",
        views.FilingApi.as_view(),
        name="api-obligation-filings",
    ),
]
