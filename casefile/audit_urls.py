from django.urls import path

from casefile import views

urlpatterns = [
    path("", views.audit_page, name="audit-page"),
    path("offline_verifier.py", views.offline_verifier, name="audit-verifier"),
    path("keys", views.key_inventory, name="key-inventory"),
]
