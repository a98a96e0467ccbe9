"""OpenID Connect configuration as deployed: validated at start-up, each error naming its variable;
production with a provider configured stays ``check --deploy`` clean."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.webapp.test_settings import PRODUCTION_ENV, _manage
from webapp.oidc.config import oidc_config_from_env, role_map_validate
from webapp.roles import HUMAN_ROLES

OIDC_ENV = {
    "SEQUESTER_OIDC_ISSUER": "https://login.example.org",
    "SEQUESTER_OIDC_CLIENT_ID": "sequester",
    "SEQUESTER_OIDC_CLIENT_SECRET": "a-client-secret",
    "SEQUESTER_OIDC_AUTHORIZATION_URL": "https://login.example.org/authorize",
    "SEQUESTER_OIDC_TOKEN_URL": "https://login.example.org/token",
    "SEQUESTER_OIDC_JWKS_URL": "https://login.example.org/jwks",
    "SEQUESTER_OIDC_ROLE_MAP": "ir-commanders=commander,sec-leads=security_lead,audit=auditor",
}


def test_check_deploy_is_clean_with_a_provider_configured():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, **OIDC_ENV})
    assert result.returncode == 0, result.stderr + result.stdout


def _start_up() -> None:
    """What settings and WebappConfig.ready() do with the environment."""
    role_map_validate(oidc_config_from_env(require_https=True), (role.slug for role in HUMAN_ROLES))


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SEQUESTER_OIDC_CLIENT_ID": ""}, "SEQUESTER_OIDC_CLIENT_ID must be set"),
        ({"SEQUESTER_OIDC_CLIENT_SECRET": ""}, "SEQUESTER_OIDC_CLIENT_SECRET"),
        ({"SEQUESTER_OIDC_TOKEN_URL": ""}, "SEQUESTER_OIDC_TOKEN_URL must be set"),
        ({"SEQUESTER_OIDC_JWKS_URL": "http://login.example.org/jwks"}, "SEQUESTER_OIDC_JWKS_URL must be an https URL"),
        ({"SEQUESTER_OIDC_ROLE_MAP": ""}, "SEQUESTER_OIDC_ROLE_MAP must be set"),
        ({"SEQUESTER_OIDC_ROLE_MAP": "ir-commanders"}, "SEQUESTER_OIDC_ROLE_MAP must be a comma-separated list"),
        (
            {"SEQUESTER_OIDC_ROLE_MAP": "admins=superuser"},
            "SEQUESTER_OIDC_ROLE_MAP: group 'admins' maps to 'superuser'",
        ),
        ({"SEQUESTER_OIDC_ROLE_MAP": "bots=service_account"}, "SEQUESTER_OIDC_ROLE_MAP: group 'bots'"),
        ({"SEQUESTER_OIDC_SIGN_ALGORITHM": "HS256"}, "SEQUESTER_OIDC_SIGN_ALGORITHM must be one of"),
        ({"SEQUESTER_OIDC_ISSUER": ""}, "but SEQUESTER_OIDC_ISSUER is not"),
    ],
)
def test_a_bad_variable_is_refused_naming_it(change, named, monkeypatch):
    for name, value in {**OIDC_ENV, **change}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=named):
        _start_up()


def test_the_role_map_is_read(monkeypatch):
    for name, value in OIDC_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv(
        "SEQUESTER_OIDC_ROLE_MAP", "ir=commander, ir=auditor ,/Security/Leads=security_lead,team=x=commander"
    )
    config = oidc_config_from_env(require_https=True)
    assert config is not None
    assert config.roles_for(["/Security/Leads", "ir", "other", "team=x"]) == ["security_lead", "commander", "auditor"]
    assert config.roles_for(["other"]) == []


def test_a_bad_role_map_stops_start_up_naming_the_variable():
    env = {**PRODUCTION_ENV, **OIDC_ENV, "SEQUESTER_OIDC_ROLE_MAP": "admins=superuser"}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "SEQUESTER_OIDC_ROLE_MAP: group 'admins' maps to 'superuser', which is not a role" in result.stderr
