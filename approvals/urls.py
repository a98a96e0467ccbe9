from django.urls import path

from approvals import views

urlpatterns = [
    path("", views.approval_inbox, name="approvals-inbox"),
    path("<uuid:request_id>/", views.approval_page, name="approval-page"),
    path("<uuid:request_id>/decide-totp", views.approval_decide_with_totp, name="approval-decide-totp"),
]
