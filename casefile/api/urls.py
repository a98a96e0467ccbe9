from django.urls import path

from casefile.api import views

urlpatterns = [
    path("incidents/<str:reference>/case-files", views.IncidentCaseFileApi.as_view(), name="api-incident-casefiles"),
    path("case-files/", views.CaseFileListApi.as_view(), name="api-casefiles"),
    path("case-files/<str:export_id>/", views.CaseFileApi.as_view(), name="api-casefile"),
    path("case-files/<str:export_id>/pdf", views.CaseFilePdfApi.as_view(), name="api-casefile-pdf"),
]
