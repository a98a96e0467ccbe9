from django.urls import path

from casefile import views

urlpatterns = [
    path("", views.casefile_list, name="casefile-list"),
    path("for/<str:reference>", views.casefile_new, name="casefile-new"),
    path("<str:export_id>/", views.casefile_page, name="casefile-page"),
    path("<str:export_id>/live", views.casefile_live, name="casefile-live"),
    path("<str:export_id>/pdf", views.casefile_pdf, name="casefile-pdf"),
]
