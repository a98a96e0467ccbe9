from django.urls import path

from approvals import views

urlpatterns = [path("security/", views.account_security, name="account-security")]
