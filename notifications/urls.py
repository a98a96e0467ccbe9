from django.urls import path

from notifications import views

urlpatterns = [
    path("inbox/", views.inbox, name="notifications-inbox"),
    path("ack/", views.ack_page, name="notification-ack"),
    path("incident/<str:reference>/", views.incident_notifications, name="incident-notifications"),
    path(
        "incident/<str:reference>/<slug:action>",
        views.incident_notifications_action,
        name="incident-notifications-action",
    ),
]
