from django.urls import path

from ir_workflows import codec_views

urlpatterns = [
    path("decode", codec_views.decode, name="temporal-codec-decode"),
    path("encode", codec_views.encode, name="temporal-codec-encode"),
]
