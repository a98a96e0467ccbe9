from django.urls import path

from keyvault.api import views

urlpatterns = [
    path("keys/", views.KeyListCreateApi.as_view(), name="keys"),
    path("keys/quarantine/", views.KeyQuarantineApi.as_view(), name="keys-quarantine"),
    path("keys/inventory", views.KeyInventoryExportApi.as_view(), name="keys-inventory-export"),
    path("keys/<uuid:key_id>/", views.KeyDetailApi.as_view(), name="key-detail"),
    path("keys/<uuid:key_id>/suspend", views.KeySuspendApi.as_view(), name="key-suspend"),
    path("keys/<uuid:key_id>/compromise", views.KeyCompromiseApi.as_view(), name="key-compromise"),
    path("keys/<uuid:key_id>/activate", views.KeyActivateApi.as_view(), name="key-activate"),
    path("keys/<uuid:key_id>/deactivate", views.KeyDeactivateApi.as_view(), name="key-deactivate"),
    path("keys/<uuid:key_id>/rotate", views.KeyRotateApi.as_view(), name="key-rotate"),
    path("keys/<uuid:key_id>/retire", views.KeyRetireApi.as_view(), name="key-retire"),
    path("keys/<uuid:key_id>/encrypt", views.KeyEncryptApi.as_view(), name="key-encrypt"),
    path("keys/<uuid:key_id>/decrypt", views.KeyDecryptApi.as_view(), name="key-decrypt"),
    path("keys/<uuid:key_id>/rewrap", views.KeyRewrapApi.as_view(), name="key-rewrap"),
    path("keys/<uuid:key_id>/data-key", views.KeyDataKeyApi.as_view(), name="key-data-key"),
    path("keys/<uuid:key_id>/encrypt-batch", views.KeyEncryptBatchApi.as_view(), name="key-encrypt-batch"),
    path("keys/<uuid:key_id>/decrypt-batch", views.KeyDecryptBatchApi.as_view(), name="key-decrypt-batch"),
    path("keys/<uuid:key_id>/rewrap-batch", views.KeyRewrapBatchApi.as_view(), name="key-rewrap-batch"),
    path("keys/<uuid:key_id>/wrapped-items", views.KeyWrappedItemsApi.as_view(), name="key-wrapped-items"),
    path("aliases/<slug:alias>/encrypt", views.AliasEncryptApi.as_view(), name="alias-encrypt"),
]
