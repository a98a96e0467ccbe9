from django.urls import path

from approvals.api import views

urlpatterns = [
    path("approvals/", views.ApprovalListApi.as_view(), name="approvals"),
    path("approvals/<uuid:request_id>/", views.ApprovalDetailApi.as_view(), name="approval-detail"),
    path("approvals/<uuid:request_id>/challenge", views.ApprovalChallengeApi.as_view(), name="approval-challenge"),
    path("approvals/<uuid:request_id>/decide", views.ApprovalDecideApi.as_view(), name="approval-decide"),
    path("approvals/<uuid:request_id>/cancel", views.ApprovalCancelApi.as_view(), name="approval-cancel"),
    path("stepup/factor-change/begin", views.FactorChangeBeginApi.as_view(), name="factor-change-begin"),
    path("stepup/factor-change/prove", views.FactorChangeProveApi.as_view(), name="factor-change-prove"),
    path("stepup/recovery", views.FactorRecoveryApi.as_view(), name="factor-recovery"),
    path("stepup/webauthn/begin", views.WebAuthnBeginApi.as_view(), name="webauthn-begin"),
    path("stepup/webauthn/finish", views.WebAuthnFinishApi.as_view(), name="webauthn-finish"),
]
