"""The authorization matrix (``authorization_matrix.py``) against the live URL resolver: every route by
method by principal answers as declared, and no route or API method goes undeclared."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from tests.security import authorization_matrix as matrix
from webapp import roles
from webapp.services.api_tokens import api_token_issue

pytestmark = pytest.mark.django_db

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


def _routes() -> dict[str, URLPattern]:
    return dict(_walk(get_resolver().url_patterns))


def _drf_methods(pattern: URLPattern) -> set[str] | None:
    view_class = getattr(pattern.callback, "cls", None)
    if view_class is None:
        return None
    return {m.upper() for m in METHODS if hasattr(view_class, m.lower())}


def _path(route: str, params: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group("name")
        return params.get(name) or matrix.PARAMETER_VALUES[name]

    return "/" + CONVERTER.sub(value, route)


@pytest.fixture
def clients(make_user: Any) -> dict[str, Client]:
    made: dict[str, Client] = {matrix.ANONYMOUS: Client()}
    outsider = Client()
    outsider.force_login(make_user("matrix-outsider"))
    made[matrix.OUTSIDER] = outsider
    for slug in matrix.PEOPLE:
        person = Client()
        person.force_login(make_user(f"matrix-{slug}", slug))
        made[slug] = person
    secret = api_token_issue(service_account="matrix-service", name="matrix", valid_days=1).secret
    made[matrix.SERVICE] = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    admin = Client()
    admin.force_login(User.objects.create_superuser("matrix-admin", "admin@example.test", "x" * 20))
    made["admin"] = admin
    return made


def _denied(response: Any) -> bool:
    if response.status_code in (401, 403):
        return True
    if response.status_code in (301, 302):
        location = response.get("Location", "")
        return "/login/?next=" in location  # login_required's redirect (sign-out's own goes to /login/)
    return False


def _call(client: Client, method: str, path: str) -> Any:
    if method == "GET":
        return client.get(path)
    return client.generic(method, path, b"{}", content_type="application/json")


def test_every_route_is_declared_once_and_every_line_names_a_route():
    routes = {r for r in _routes() if not r.startswith(matrix.ADMIN_PREFIX)}
    declared = [line.pattern for line in matrix.MATRIX]
    assert len(declared) == len(set(declared)), "a route is declared twice"
    assert sorted(routes - set(declared)) == [], "routes with no line in tests/security/authorization_matrix.py"
    assert sorted(set(declared) - routes) == [], "lines naming routes that no longer exist"


def test_every_api_method_is_declared():
    routes = _routes()
    missing = []
    for line in matrix.MATRIX:
        implemented = _drf_methods(routes[line.pattern])
        if implemented is not None and implemented != set(line.methods):
            missing.append(f"{line.pattern}: implements {sorted(implemented)}, declared {sorted(line.methods)}")
    assert missing == []


def test_the_named_groups_match_the_roles():
    for capability, holders in matrix.CAPABILITY_HOLDERS.items():
        expected = {role.slug for role in roles.ROLES if capability in role.capabilities}
        assert set(holders) == expected, capability
    assert set(matrix.PEOPLE) | {matrix.SERVICE} == set(roles.ROLES_BY_SLUG)


@pytest.mark.parametrize("line", matrix.MATRIX, ids=lambda line: line.pattern or "/")
def test_each_route_answers_each_principal_as_declared(line, clients):
    path = _path(line.pattern, line.params)
    wrong = []
    for method, allowed in line.methods.items():
        for principal in matrix.PRINCIPALS:
            response = _call(clients[principal], method, path)
            if _denied(response) == (principal in allowed):
                expected = "allowed" if principal in allowed else "denied"
                wrong.append(f"{method} {path} as {principal}: {response.status_code}, expected {expected}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("line", matrix.MATRIX, ids=lambda line: line.pattern or "/")
def test_undeclared_methods_are_refused(line, clients):
    """A page that starts taking POST (say) without its line fails here: to a user holding every
    capability, a method not in the table is 405 (or refused outright)."""
    path = _path(line.pattern, line.params)
    accepted = []
    for method in METHODS:
        if method in line.methods:
            continue
        response = _call(clients["admin"], method, path)
        if response.status_code not in (401, 403, 405):
            accepted.append(f"{method} {path}: {response.status_code}")
    assert accepted == []


def test_the_admin_is_for_staff_only(clients):
    """Every admin route turns away each principal (none is staff) to the admin's sign-in; the superuser
    (the control) gets through — where a read-only model refuses it an add or a delete, with a 403."""
    public = {"admin/login/", "admin/logout/"}
    admin_routes = [
        r
        for r, p in _routes().items()
        if r.startswith(matrix.ADMIN_PREFIX) and isinstance(p.pattern, RoutePattern) and r not in public
    ]
    assert len(admin_routes) > 20
    wrong = []
    for route in admin_routes:
        path = _path(route, {})
        for principal in matrix.PRINCIPALS:
            response = clients[principal].get(path)
            if not (response.status_code == 302 and "/admin/login/?next=" in response["Location"]):
                wrong.append(f"GET {path} as {principal}: {response.status_code}")
        response = clients["admin"].get(path)
        if response.status_code == 302 and "/admin/login/" in response.get("Location", ""):
            wrong.append(f"GET {path} as the superuser: sent to sign in")
    assert wrong == [], "\n".join(wrong)


def test_every_role_has_a_principal_here():
    assert {g.name for g in Group.objects.all()} >= set(roles.ROLES_BY_SLUG)
