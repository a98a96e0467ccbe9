"""The playbook's steps as the workflow runs them: one table, read by the workflow (its step names) and
rendered as the controlled incident-response procedure (``evaluation``). Pure: no Django, no I/O.

Each step says what happens, who acts (role slugs), which approval actions it waits for, which hook
point runs there and which response time it ends (the measures of ``evaluation.models.Measure``).
"""

from __future__ import annotations

from dataclasses import dataclass

CONTAIN = "contain"
CONFIRM = "confirm"
RESTORE = "restore"
RESTRICT = "restrict"
REWRAP = "rewrap"
NOTIFY = "notify"
REGULATORY = "regulatory"
CLOSE = "close"
CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    title: str
    what: str
    roles: tuple[str, ...]
    approvals: tuple[str, ...] = ()
    hook: str = ""
    measures: tuple[str, ...] = ()
    branch: str = ""  # set on a step only one branch runs ("false positive")


STEPS: tuple[Step, ...] = (
    Step(
        CONTAIN,
        "Detect and contain",
        "A signal (API, signed webhook, the report form) names keys. In the transaction that records it, "
        "each named key and every key it wrapped is suspended: the gate refuses them to encrypt from that "
        "commit on, while decryption goes on, each use logged. The incident opens (or the keys join the open "
        "incident holding one of them) and its blast radius is computed: wrapped keys, data assets, "
        "systems, parties, jurisdictions.",
        ("service_account", "commander"),
        measures=("contain",),
    ),
    Step(
        CONFIRM,
        "Confirm",
        "A quorum confirms the compromise, or calls it a false positive. An expired request is escalated "
        "and asked again.",
        ("security_lead", "key_custodian"),
        approvals=("confirm_compromise",),
        measures=("confirm",),
    ),
    Step(
        RESTORE,
        "Restore",
        "Bringing a suspended key back to encrypting is the dangerous direction: a quorum of its own restores "
        "the keys, then the incident goes to closure.",
        ("security_lead", "ciso"),
        approvals=("restore_false_positive",),
        branch="false positive only",
    ),
    Step(
        RESTRICT,
        "Segregate and restrict",
        "Every key is marked compromised and restricted to decrypt-only on its backend, read back and "
        "verified there (a child workflow per key). Compromised keys leave the active inventory and alias "
        "resolution; outside incident response they do not exist.",
        ("key_custodian",),
        measures=("restrict",),
    ),
    Step(
        REWRAP,
        "Replace and rewrap",
        "Each compromised key gets a replacement; every item it wrapped is re-encrypted under the replacement "
        "in batches, heartbeating its progress so that a lost worker resumes where it stopped. Decryption "
        "for the rewrap is the legitimate use of a compromised key (a job grant, each batch logged).",
        ("key_custodian",),
        approvals=("compromised_key_decrypt_access", "encryption_exception"),
        measures=("rewrap",),
    ),
    Step(
        NOTIFY,
        "Notify",
        "Upstream providers and downstream consumers selected by the blast radius each get a message for "
        "their audience; the incident's first send waits for the commander's approval. Acknowledgements are "
        "tracked against each party's SLA, with reminders and escalation.",
        ("commander",),
        hook="notify",
        measures=("notify", "acknowledge"),
    ),
    Step(
        REGULATORY,
        "Regulatory clocks",
        "The facts are assessed against the rule catalogue; each required obligation's deadline runs as a "
        "durable clock (reminders at 50, 75 and 90 %, escalation when breached); legal/DPO signs off each "
        "filing before it is recorded.",
        ("legal_dpo",),
        approvals=("regulatory_filing_signoff",),
        hook="regulatory",
    ),
    Step(
        CLOSE,
        "Review and close",
        "A post-incident review is written and signed off. Closure lists what is still open (review, "
        "acknowledgements, obligations not filed, sign-offs pending, rewrap incomplete) and is refused unless "
        "each is done or waived with a reason inside the close_incident approval. The keys stay decrypt-only "
        "(archived) or are destroyed by a further quorum, never while under legal hold.",
        ("commander", "security_lead", "ciso", "legal_dpo", "key_custodian"),
        approvals=("post_incident_review", "close_incident", "key_destruction"),
    ),
)
STEP_IDS: tuple[str, ...] = tuple(step.id for step in STEPS)
