"""Thin views of OpenID Connect sign-in: start (to the provider), callback (back from it), and the
page that tells a refused person why. 404 while OpenID Connect is not configured."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.generic import View
from mozilla_django_oidc.views import (  # type: ignore[import-untyped]
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from webapp.oidc import config as oidc_config
from webapp.oidc.backend import CLAIMS_ATTRIBUTE, PATH, REFUSAL_ATTRIBUTE
from webapp.oidc.reauthentication import reauthentication_record, reauthentication_request

# The session remembers that its sign-in came from the provider (the sign-out goes there too).
SESSION_VIA = "sequester_sign_in_via"


def _configured() -> oidc_config.OidcConfig:
    config = oidc_config.current()
    if config is None:
        raise Http404("OpenID Connect sign-in is not configured")
    return config


class OidcStart(OIDCAuthenticationRequestView):  # type: ignore[misc]
    get_settings = staticmethod(oidc_config.mozilla_setting)

    def __init__(self, **kwargs: Any) -> None:
        View.__init__(self, **kwargs)  # the endpoints are read per request (below), not at construction

    def get(self, request: HttpRequest) -> HttpResponseBase:  # other methods: 405, before any 404
        config = _configured()
        self.OIDC_OP_AUTH_ENDPOINT = config.authorization_url
        self.OIDC_RP_CLIENT_ID = config.client_id
        response: HttpResponseBase = super().get(request)
        return response

    def get_extra_params(self, request: HttpRequest) -> dict[str, str]:
        # ?reauth=1: a fresh sign-in at the provider, to prove a first step-up factor's enrolment
        return reauthentication_request(request) if request.GET.get("reauth") == "1" else {}


class OidcCallback(OIDCAuthenticationCallbackView):  # type: ignore[misc]
    get_settings = staticmethod(oidc_config.mozilla_setting)

    def get(self, request: HttpRequest) -> HttpResponseBase:  # other methods: 405, before any 404
        _configured()
        response: HttpResponseBase = super().get(request)
        return response

    def login_success(self) -> HttpResponse:
        response: HttpResponse = super().login_success()
        self.request.session[SESSION_VIA] = "oidc"
        reauthentication_record(self.request, self.user, getattr(self.request, CLAIMS_ATTRIBUTE, {}))
        return response

    def login_failure(self) -> HttpResponse:
        refused = getattr(self.request, REFUSAL_ATTRIBUTE, None)
        if refused is not None:
            return render(
                self.request,
                "registration/oidc_refused.html",
                {"message": refused.message, "code": refused.code, "provider": _configured().display_name},
                status=403,
            )
        messages.error(self.request, "The sign-in with your identity provider did not complete. Please try again.")
        return HttpResponseRedirect("/login/")


class SignOut(auth_views.LogoutView):
    """Django's sign-out (audited by the user_logged_out signal); a session opened by the provider then
    goes on to the provider's own sign-out when ``SEQUESTER_OIDC_END_SESSION_URL`` is set."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        config = oidc_config.current()
        via_provider = request.session.get(SESSION_VIA) == "oidc" or request.session.get("_auth_user_backend") == PATH
        id_token = request.session.get("oidc_id_token")
        response: HttpResponse = super().post(request, *args, **kwargs)
        if config is not None and config.end_session_url and via_provider:
            back = request.build_absolute_uri(str(self.get_success_url()))
            query = {"post_logout_redirect_uri": back, "client_id": config.client_id}
            if id_token:
                query["id_token_hint"] = id_token
            return HttpResponseRedirect(f"{config.end_session_url}?{urlencode(query)}")
        return response


class SignIn(auth_views.LoginView):
    """The sign-in page: the identity provider's button when it is configured, and the local accounts'
    form (break-glass, ``make run``)."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context["oidc"] = oidc_config.current()
        return context
