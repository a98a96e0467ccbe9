from django.urls import path

from regulatory import views

urlpatterns = [
    path("due/", views.regulatory_due, name="regulatory-due"),
    path("profile/", views.regulatory_profile, name="regulatory-profile"),
    path("incidents/<str:reference>/", views.regulatory_incident, name="regulatory-incident"),
    path("incidents/<str:reference>/assess", views.regulatory_assess, name="regulatory-assess"),
    path(
        "incidents/<str:reference>/regulators/<int:notification_id>/<str:action>",
        views.regulatory_regulator_message,
        name="regulatory-regulator-message",
    ),
    path("incidents/<str:reference>/<str:rule_id>/signoff", views.regulatory_signoff, name="regulatory-signoff"),
    path("incidents/<str:reference>/<str:rule_id>/file", views.regulatory_file, name="regulatory-file"),
]
