from django.urls import path

from keyvault import views

urlpatterns = [
    path("", views.key_inventory, name="keys"),
    path("quarantine/", views.key_quarantine, name="keys-quarantine-page"),
    path("<uuid:key_id>/", views.key_detail, name="key-page"),
]
