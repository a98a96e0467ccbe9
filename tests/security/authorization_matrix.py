"""Who may call what: every route of the URL resolver by method by principal, declared in one table.

``tests/security/test_authorization_matrix.py`` walks the resolver and fails on a route (or a DRF
method) missing here, on a line naming a route that no longer exists, and on any principal whose answer
differs from its line: *allowed* means the route's own gate lets it through (any status but 401, 403 or
a redirect to a sign-in page — with made-up ids the answer is then typically 400 or 404); everyone not
named is *denied* (401/403 for the API, a redirect to sign-in or 403 for pages).

Adding a route: one line, ``route("<the pattern as the resolver prints it>", METHOD=WHO, …)``. WHO is
one of the named groups below (each named for the capability that admits it; a test checks that the
names match ``webapp/roles.py``) or a set built from the principals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from webapp import roles

# --- principals -------------------------------------------------------------------------------------
ANONYMOUS = "anonymous"
OUTSIDER = "outsider"  # signed in, no role
SERVICE = roles.SERVICE_ACCOUNT  # bearer token
CMD, LEAD, CUSTODIAN, LEGAL, CISO, AUDITOR = (
    roles.COMMANDER,
    roles.SECURITY_LEAD,
    roles.KEY_CUSTODIAN,
    roles.LEGAL_DPO,
    roles.CISO,
    roles.AUDITOR,
)
PEOPLE = frozenset({CMD, LEAD, CUSTODIAN, LEGAL, CISO, AUDITOR})
PRINCIPALS = (ANONYMOUS, OUTSIDER, *sorted(PEOPLE), SERVICE)

# --- who holds which capability (checked against webapp/roles.py) -----------------------------------
CAPABILITY_HOLDERS: dict[str, frozenset[str]] = {
    "view_incidents": frozenset({CMD, LEAD, CUSTODIAN, LEGAL, CISO, AUDITOR}),
    "respond_to_incidents": frozenset({CMD, LEAD, CUSTODIAN, CISO}),
    "command_incidents": frozenset({CMD}),
    "report_signals": frozenset({CMD, LEAD, SERVICE}),
    "decide_approvals": frozenset({CMD, LEAD, CUSTODIAN, LEGAL, CISO}),
    "own_control": frozenset({LEAD, CISO}),
    "custody_keys": frozenset({CUSTODIAN}),
    "sign_filings": frozenset({LEGAL}),
    "view_audit": frozenset({LEAD, CISO, AUDITOR}),
    "export_case_files": frozenset({CMD, CISO, AUDITOR}),
    "use_key_gate": frozenset({CUSTODIAN, SERVICE}),
}
_ = CAPABILITY_HOLDERS

EVERYONE = frozenset(PRINCIPALS)
NOBODY: frozenset[str] = frozenset()
SIGNED_IN = frozenset({OUTSIDER, *PEOPLE, SERVICE})  # the API: a session or a token
SIGNED_IN_PEOPLE = frozenset({OUTSIDER, *PEOPLE})  # pages and person-only API: a session
VIEW_INCIDENTS = _["view_incidents"]
RESPOND = _["respond_to_incidents"]
COMMAND = _["command_incidents"]
REPORT = _["report_signals"]
CUSTODY = _["custody_keys"]
SIGN_FILINGS = _["sign_filings"]
EXPORT = _["export_case_files"]
GATE = _["use_key_gate"]
AUDIT_OR_EXPORT = _["view_audit"] | EXPORT
INVENTORY = GATE | CUSTODY | RESPOND | _["view_audit"]  # keyvault.api.permissions.CanReadInventory
APPROVALS_API = VIEW_INCIDENTS | GATE  # approvals.api.views.CanUseApprovals
ASSESS = SIGN_FILINGS | COMMAND
CODEC_DECODE = RESPOND | _["view_audit"]
VIEW_AUDIT = _["view_audit"]
OWN_CONTROL = _["own_control"]
READ_CONTROL = VIEW_INCIDENTS | VIEW_AUDIT  # the playbook, drills, targets
REPORTS = VIEW_AUDIT | EXPORT
STAFF = frozenset({"admin"})  # Django admin: is_staff only (no role is staff; a superuser is the control)


@dataclass(frozen=True)
class Route:
    pattern: str
    methods: dict[str, frozenset[str]] = field(default_factory=dict)
    note: str = ""
    params: dict[str, str] = field(default_factory=dict)


def route(pattern: str, note: str = "", params: dict[str, str] | None = None, **methods: frozenset[str]) -> Route:
    return Route(pattern, {m.upper(): who for m, who in methods.items()}, note, params or {})


# Encrypting (and registering what was encrypted) is for the gate's users: responders pass the route's
# permission but the gate policy (keyvault/policy.py) refuses them (403).
ENCRYPT_NOTE = "the gate policy refuses responders an encryption"

# The organisation profile is edited by holders of a Django permission the admin grants; no role has it.
PROFILE_NOTE = "POST: regulatory.add_organisationprofile (granted in the admin, held by no role)"

# Every route under this prefix is the Django admin's: staff only, GET checked for each principal.
ADMIN_PREFIX = "admin/"

MATRIX: tuple[Route, ...] = (
    # --- the base UI, health, sign-in --------------------------------------------------------------
    route("", GET=SIGNED_IN_PEOPLE),
    route("healthz", GET=EVERYONE, note="public for load balancers; details only when signed in"),
    route("search/", GET=SIGNED_IN_PEOPLE, note="each provider shows only what the person may see"),
    route("login/", GET=EVERYONE, POST=EVERYONE),
    route("logout/", POST=EVERYONE),
    route("oidc/start/", GET=EVERYONE, note="to the identity provider (404 while OpenID Connect is off)"),
    route("oidc/callback/", GET=EVERYONE, note="back from the identity provider: state, nonce, PKCE, ID token"),
    route("metrics", GET=EVERYONE, note="by address (loopback here) or SEQUESTER_METRICS_TOKEN, not by role"),
    route("api/schema/", GET=SIGNED_IN),
    route("api/docs/", GET=SIGNED_IN_PEOPLE),
    route("api/v1/me/", GET=SIGNED_IN),
    # --- keys (keyvault/api) ------------------------------------------------------------------------
    route("api/v1/keys/", GET=INVENTORY, POST=CUSTODY | GATE),
    route("api/v1/keys/quarantine/", GET=RESPOND),
    route("api/v1/keys/inventory", GET=VIEW_AUDIT, note="the audit export of the whole inventory"),
    route("api/v1/keys/<uuid:key_id>/", GET=INVENTORY),
    route("api/v1/keys/<uuid:key_id>/suspend", POST=RESPOND),
    route("api/v1/keys/<uuid:key_id>/compromise", POST=RESPOND),
    route("api/v1/keys/<uuid:key_id>/activate", POST=CUSTODY),
    route("api/v1/keys/<uuid:key_id>/deactivate", POST=CUSTODY),
    route("api/v1/keys/<uuid:key_id>/rotate", POST=CUSTODY),
    route("api/v1/keys/<uuid:key_id>/retire", POST=RESPOND, note="who may declare a compromise may end its story"),
    route("api/v1/keys/<uuid:key_id>/encrypt", POST=GATE, note=ENCRYPT_NOTE),
    route("api/v1/keys/<uuid:key_id>/decrypt", POST=GATE | RESPOND),
    route("api/v1/keys/<uuid:key_id>/rewrap", POST=GATE | RESPOND),
    route("api/v1/keys/<uuid:key_id>/data-key", POST=GATE, note=ENCRYPT_NOTE),
    route("api/v1/keys/<uuid:key_id>/encrypt-batch", POST=GATE, note=ENCRYPT_NOTE),
    route("api/v1/keys/<uuid:key_id>/decrypt-batch", POST=GATE | RESPOND),
    route("api/v1/keys/<uuid:key_id>/rewrap-batch", POST=GATE | RESPOND),
    route("api/v1/keys/<uuid:key_id>/wrapped-items", POST=GATE, note=ENCRYPT_NOTE),
    route("api/v1/aliases/<slug:alias>/encrypt", POST=GATE, note=ENCRYPT_NOTE),
    # --- approvals ----------------------------------------------------------------------------------
    route("api/v1/approvals/", GET=APPROVALS_API, POST=APPROVALS_API),
    route("api/v1/approvals/<uuid:request_id>/", GET=APPROVALS_API, note="then the request decides (404)"),
    route("api/v1/approvals/<uuid:request_id>/challenge", POST=SIGNED_IN_PEOPLE, note="people only; policy decides"),
    route("api/v1/approvals/<uuid:request_id>/decide", POST=SIGNED_IN_PEOPLE, note="people only; policy decides"),
    route("api/v1/approvals/<uuid:request_id>/cancel", POST=APPROVALS_API, note="then only the requester"),
    route("api/v1/stepup/factor-change/begin", POST=SIGNED_IN_PEOPLE, note="proven with the existing factor"),
    route("api/v1/stepup/factor-change/prove", POST=SIGNED_IN_PEOPLE),
    route("api/v1/stepup/recovery", POST=SIGNED_IN_PEOPLE, note="the password and an admin-approved recovery"),
    route("api/v1/stepup/webauthn/begin", POST=SIGNED_IN_PEOPLE),
    route("api/v1/stepup/webauthn/finish", POST=SIGNED_IN_PEOPLE),
    # --- signals and incidents ----------------------------------------------------------------------
    route("api/v1/signals/", POST=REPORT),
    route("api/v1/webhooks/<slug:name>", POST=EVERYONE, note="authenticated by the source's HMAC, not a session"),
    route("api/v1/incidents/", GET=VIEW_INCIDENTS),
    route("api/v1/incidents/<str:reference>/", GET=VIEW_INCIDENTS),
    route("api/v1/incidents/<str:reference>/keys", POST=COMMAND),
    route("api/v1/incidents/<str:reference>/timeline", GET=VIEW_INCIDENTS),
    route("api/v1/incidents/<str:reference>/awareness", POST=COMMAND),
    route("api/v1/incidents/<str:reference>/severity", POST=COMMAND),
    route("api/v1/incidents/<str:reference>/notes", POST=COMMAND | RESPOND),
    route("api/v1/incidents/<str:reference>/advance", POST=COMMAND),
    route("api/v1/incidents/<str:reference>/commander", POST=COMMAND),
    # --- case files, regulatory, notifications ------------------------------------------------------
    route("api/v1/incidents/<str:reference>/case-files", POST=EXPORT),
    route("api/v1/case-files/", GET=EXPORT),
    route("api/v1/case-files/<str:export_id>/", GET=EXPORT),
    route("api/v1/case-files/<str:export_id>/pdf", GET=EXPORT),
    route("api/v1/regulatory/profile", GET=VIEW_INCIDENTS, POST=NOBODY, note=PROFILE_NOTE),
    route("api/v1/regulatory/assess", POST=VIEW_INCIDENTS, note="a dry run: computes, records nothing"),
    route("api/v1/incidents/<str:reference>/assessments", GET=VIEW_INCIDENTS, POST=ASSESS),
    route("api/v1/incidents/<str:reference>/assessments/prefill", GET=VIEW_INCIDENTS),
    route("api/v1/incidents/<str:reference>/obligations", GET=VIEW_INCIDENTS),
    route("api/v1/incidents/<str:reference>/obligations/<str:rule_id>/signoff", POST=ASSESS),
    route("api/v1/incidents/<str:reference>/obligations/<str:rule_id>/filings", POST=SIGN_FILINGS),
    route("api/v1/incidents/<str:reference>/notifications", GET=VIEW_INCIDENTS),
    route(
        "api/v1/incidents/<str:reference>/notifications/approve",
        POST=VIEW_INCIDENTS,
        note="then the service: the incident's commander",
    ),
    route("api/v1/parties/", GET=RESPOND),
    route("api/temporal-codec/decode", POST=CODEC_DECODE, note="a session (the Temporal UI's browser)"),
    route("api/temporal-codec/encode", POST=RESPOND, note="a session (the Temporal UI's browser)"),
    # --- pages --------------------------------------------------------------------------------------
    route("incidents/", GET=VIEW_INCIDENTS),
    route("incidents/report/", GET=REPORT - {SERVICE}, POST=REPORT - {SERVICE}),
    route("incidents/decrypt-access/<uuid:key_id>/", GET=RESPOND, POST=RESPOND),
    route("incidents/<str:reference>/", GET=VIEW_INCIDENTS),
    route("incidents/<str:reference>/live", GET=VIEW_INCIDENTS),
    route("incidents/<str:reference>/assign", POST=COMMAND),
    route("incidents/<str:reference>/<slug:action>", POST=COMMAND | RESPOND, note="note: responders; rest: commander"),
    route("approvals/", GET=VIEW_INCIDENTS),
    route("approvals/<uuid:request_id>/", GET=SIGNED_IN_PEOPLE, note="the request decides (viewers or requester)"),
    route("approvals/<uuid:request_id>/decide-totp", POST=SIGNED_IN_PEOPLE, note="the policy decides"),
    route("account/security/", GET=SIGNED_IN_PEOPLE, POST=SIGNED_IN_PEOPLE),
    route("keys/", GET=INVENTORY - {SERVICE}),
    route("keys/quarantine/", GET=RESPOND),
    route("keys/<uuid:key_id>/", GET=INVENTORY - {SERVICE}),
    route("case-files/", GET=EXPORT),
    route("case-files/for/<str:reference>", POST=EXPORT),
    route("case-files/<str:export_id>/", GET=EXPORT),
    route("case-files/<str:export_id>/live", GET=EXPORT),
    route("case-files/<str:export_id>/pdf", GET=EXPORT),
    route("audit/", GET=AUDIT_OR_EXPORT),
    route("audit/offline_verifier.py", GET=AUDIT_OR_EXPORT),
    route("audit/keys", GET=VIEW_AUDIT),
    route("regulatory/due/", GET=VIEW_INCIDENTS),
    route("regulatory/incidents/<str:reference>/", GET=VIEW_INCIDENTS),
    route("regulatory/incidents/<str:reference>/assess", POST=ASSESS),
    route("regulatory/incidents/<str:reference>/<str:rule_id>/signoff", POST=ASSESS),
    route("regulatory/incidents/<str:reference>/<str:rule_id>/file", POST=SIGN_FILINGS),
    route("regulatory/incidents/<str:reference>/regulators/<int:notification_id>/<str:action>", POST=ASSESS),
    route("regulatory/profile/", GET=VIEW_INCIDENTS, POST=NOBODY, note=PROFILE_NOTE),
    # --- evaluate: the playbook document, drills, period reports, targets, reviews --------------------
    route("playbook/", GET=READ_CONTROL),
    route("playbook/propose", POST=OWN_CONTROL),
    route("playbook/<str:number>.<str:fmt>", GET=READ_CONTROL),
    route("drills/", GET=READ_CONTROL),
    route("drills/start", POST=COMMAND),
    route("drills/tabletop", POST=COMMAND | OWN_CONTROL),
    route("reports/", GET=REPORTS),
    route("reports/export", POST=REPORTS),
    route("reports/samples", POST=EXPORT),
    route("reports/<str:report_id>.pdf", GET=REPORTS),
    route("reports/<str:report_id>/attest", POST=OWN_CONTROL),
    route("targets/", GET=READ_CONTROL, POST=OWN_CONTROL),
    route("reviews/<str:reference>/", GET=VIEW_INCIDENTS),
    route("reviews/<str:reference>/<slug:what>", POST=COMMAND | RESPOND, params={"what": "text"}),
    route("notifications/inbox/", GET=SIGNED_IN_PEOPLE, POST=SIGNED_IN_PEOPLE, note="a party's members' messages"),
    route("notifications/ack/", GET=EVERYONE, POST=EVERYONE, note="the link's token is the credential"),
    route("notifications/incident/<str:reference>/", GET=VIEW_INCIDENTS),
    route(
        "notifications/incident/<str:reference>/<slug:action>",
        POST=VIEW_INCIDENTS,
        params={"action": "approve"},
        note="draft: responders; approve: the service decides",
    ),
    route(".well-known/sequester-audit-key.json", GET=EVERYONE),
    route(".well-known/sequester-key-status.json", GET=EVERYONE),
    route(".well-known/sequester-casefile-certificate.pem", GET=EVERYONE),
)

# Values for path parameters: ids that exist nowhere (the gate is checked before the object), actions
# that exist (so that a 404 is the object's, not the route's).
PARAMETER_VALUES = {
    "key_id": "6f0c7a46-0f0e-4b47-9f4e-000000000001",
    "request_id": "6f0c7a46-0f0e-4b47-9f4e-000000000002",
    "export_id": "6f0c7a46-0f0e-4b47-9f4e-000000000003",
    "reference": "INC-2099-9999",
    "rule_id": "gdpr-art33",
    "alias": "no-such-alias",
    "name": "no-such-source",
    "action": "note",
    "object_id": "1",
    "notification_id": "999999",
    "number": "999",
    "fmt": "md",
    "report_id": "6f0c7a46-0f0e-4b47-9f4e-000000000004",
    "what": "text",
    "id": "1",
    "app_label": "auth",
    "content_type_id": "1",
}
