from django.urls import path

from incidents.api import views

urlpatterns = [
    path("signals/", views.SignalApi.as_view(), name="signals"),
    path("webhooks/<slug:name>", views.WebhookApi.as_view(), name="webhook"),
    path("incidents/", views.IncidentListApi.as_view(), name="incidents"),
    path("incidents/<str:reference>/", views.IncidentDetailApi.as_view(), name="incident-detail"),
    path("incidents/<str:reference>/keys", views.IncidentKeysApi.as_view(), name="incident-keys"),
    path("incidents/<str:reference>/timeline", views.IncidentTimelineApi.as_view(), name="incident-timeline"),
    path("incidents/<str:reference>/awareness", views.IncidentAwarenessApi.as_view(), name="incident-awareness"),
    path("incidents/<str:reference>/severity", views.IncidentSeverityApi.as_view(), name="incident-severity"),
    path("incidents/<str:reference>/notes", views.IncidentNoteApi.as_view(), name="incident-notes"),
    path("incidents/<str:reference>/commander", views.IncidentCommanderApi.as_view(), name="incident-commander"),
    path("incidents/<str:reference>/advance", views.IncidentAdvanceApi.as_view(), name="incident-advance"),
]
