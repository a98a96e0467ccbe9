from django.urls import path

from notifications.api import views

urlpatterns = [
    path(
        "incidents/<str:reference>/notifications",
        views.IncidentNotificationsApi.as_view(),
        name="api-incident-notifications",
    ),
    path(
        "incidents/<str:reference>/notifications/approve",
        views.IncidentNotificationsApproveApi.as_view(),
        name="api-incident-notifications-approve",
    ),
    path("parties/", views.PartyListApi.as_view(), name="api-parties"),
]
