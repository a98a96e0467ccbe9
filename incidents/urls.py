from django.urls import path

from incidents import decrypt_access, views

urlpatterns = [
    path("", views.incident_list, name="incidents-list"),
    path("report/", views.incident_report, name="incident-report"),
    path("decrypt-access/<uuid:key_id>/", decrypt_access.decrypt_access_page, name="decrypt-access"),
    path("<str:reference>/", views.incident_page, name="incident-page"),
    path("<str:reference>/live", views.incident_live, name="incident-live"),
    path("<str:reference>/assign", views.incident_assign, name="incident-assign"),
    path("<str:reference>/<slug:action>", views.incident_action, name="incident-action"),
]
