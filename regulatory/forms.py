"""The guided facts form: the facts schema as fields, choices and validation messages, for people (the
JSON stays for the API and the CLI). The form edits a copy of the pre-filled facts and hands the result
to the engine's own validation (``facts_parse``), whose errors are shown on the field they concern.

Nothing is assumed: a field left blank (a choice "not recorded", no box ticked) leaves that fact out, and
the duties that depend on it stay provisional. Decisions keep who took them and when; a changed one is
taken by the person submitting, now."""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django import forms

from regulatory.errors import FactsInvalid
from regulatory.facts import DATA_CATEGORIES, ENTITY, ENTITY_LABELS, facts_parse
from regulatory.serialize import utc_z
from regulatory.types import Catalogue
from webapp.errors import DomainError

UNSTATED = ""
TRI = [(UNSTATED, "not recorded"), ("true", "yes"), ("false", "no")]
NONE = "__none__"  # the box "none of these" of a list: recorded as empty, not unknown
NUMERIC_DECISIONS: dict[str, list[int]] = {"fedramp_pain_level": [1, 2, 3, 4, 5]}
# Entity facts set per incident or shown elsewhere, never as a plain field of the entity's section.
ENTITY_SKIPPED = ("id", "name", "events", "informed_by", "agent")
TIME_FORMAT = "%Y-%m-%dT%H:%M"
KEY_EVENTS = ("detected_at", "aware_at", "discovered_at", "determined_at", "significant_incident_aware_at")
STATE_COUNT = re.compile(r"^\s*(US-[A-Z]{2})\s*[=:]\s*(\d+)\s*$")


def fact_field_id(name: str) -> str:
    """The HTML id of the form field that records a fact path (pages link open questions to it)."""
    head, _, tail = name.partition(".")
    if head == "decisions":
        return f"id_decision-{tail}"
    if head == "events":
        return f"id_event-{tail}"
    if head == "entity":
        return f"id_entity-0-{tail}"
    if head == "encryption":
        return f"id_{tail}"
    return f"id_{head}"


def zones() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(available_timezones()) if "/" in name or name == "UTC"]


def _codes_text(codes: list[str] | None) -> str:
    return ", ".join(codes or [])


def _codes(text: str) -> list[str]:
    return [code.strip().upper() for code in re.split(r"[,\s]+", text) if code.strip()]


def _tri(value: Any) -> str:
    return UNSTATED if value is None else ("true" if value else "false")


def _local(value: str | None, zone: ZoneInfo) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(zone).strftime(TIME_FORMAT)


class FactsForm(forms.Form):
    """Built from the facts it edits (``base``) and the catalogue's vocabulary; ``facts()`` is the result."""

    deadline_tz = forms.ChoiceField(label="Deadline zone (the principal location)", choices=zones)
    times_tz = forms.ChoiceField(
        label="The times below are in", choices=zones, help_text="converted to UTC when recorded"
    )
    jurisdictions = forms.CharField(
        label="Where the affected people or operations are",
        required=False,
        help_text="codes separated by commas: EU or a Member State (DE, FR…), UK, US or a state (US-CA), BR, IN, "
        "SG, AU, CA, JP, CN. Blank: not recorded",
    )
    key_compromised = forms.ChoiceField(label="The key protecting the data is compromised", choices=TRI, required=False)
    encrypted = forms.ChoiceField(
        label="All affected data was encrypted (overrides the blocks)", choices=TRI, required=False
    )
    note = forms.CharField(label="Note (why this version)", required=False)

    def __init__(
        self,
        *args: Any,
        base: dict[str, Any],
        catalogue: Catalogue,
        decided_by: str,
        now: datetime,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.base = copy.deepcopy(base)
        self.catalogue = catalogue
        self.decided_by = decided_by
        self.now = now
        self.where: dict[str, str] = {}  # facts path -> form field, for the engine's validation messages
        self.entity_sections: list[tuple[str, list[str]]] = []
        self.block_sections: list[tuple[str, list[str]]] = []
        zone_name = self.data.get("times_tz") if self.is_bound else self.base.get("deadline_tz", "UTC")
        try:
            self.zone = ZoneInfo(zone_name or "UTC")
        except (ValueError, KeyError):
            self.zone = ZoneInfo("UTC")
        self.initial.setdefault("deadline_tz", self.base.get("deadline_tz", "UTC"))
        self.initial.setdefault("times_tz", self.zone.key)
        self.initial.setdefault("jurisdictions", _codes_text(self.base.get("jurisdictions")))
        encryption = self.base.get("encryption", {})
        self.initial.setdefault("key_compromised", _tri(encryption.get("key_compromised")))
        self.initial.setdefault("encrypted", _tri(encryption.get("encrypted")))
        self.where.update(
            {
                "deadline_tz": "deadline_tz",
                "jurisdictions": "jurisdictions",
                "encryption.key_compromised": "key_compromised",
                "encryption.encrypted": "encrypted",
            }
        )
        entities = [self.base.get("entity", {}), *self.base.get("entities", [])]
        for index, entity in enumerate(entities):
            self._entity_fields(index, entity, [e.get("id", "") for e in entities])
        blocks = self.base.get("data", {}).get("blocks", [])
        for index, block in enumerate([*blocks, {}]):
            self._block_fields(index, block, new=index == len(blocks))
        self._event_fields()
        self._decision_fields()

    # --------------------------------------------------------------------------------- fields
    def _add(self, name: str, field: forms.Field, initial: Any, path: str) -> str:
        self.fields[name] = field
        self.initial[name] = initial
        self.where[path] = name
        return name

    def _entity_fields(self, index: int, entity: dict[str, Any], ids: list[str], *, profile: bool = False) -> None:
        prefix = f"entity-{index}"
        path = "entity" if index == 0 else f"entities[{index - 1}]"
        names = []
        if profile:
            new = not entity
            names.append(
                self._add(
                    f"{prefix}-id",
                    forms.CharField(
                        label="id",
                        required=False,
                        disabled=not new,
                        help_text="lower-case letters, digits and dashes; fixed once published" if new else "",
                    ),
                    entity.get("id", ""),
                    f"{path}.id",
                )
            )
            names.append(
                self._add(
                    f"{prefix}-name",
                    forms.CharField(label="legal name", required=False),
                    entity.get("name", ""),
                    f"{path}.name",
                )
            )
            if index > 0 and not new:
                names.append(
                    self._add(
                        f"{prefix}-remove", forms.BooleanField(label="remove this entity", required=False), False, path
                    )
                )
        for fact, spec in ENTITY.items():
            if fact in ENTITY_SKIPPED:
                continue
            label = ENTITY_LABELS.get(fact, fact.replace("_", " "))
            name = f"{prefix}-{fact}"
            value = entity.get(fact)
            if fact in ("roles", "card_brands"):
                choices = [(c, c.replace("_", " ")) for c in spec] + [(NONE, "none of these")]
                initial = (value or [NONE]) if value is not None else []
                field: forms.Field = forms.MultipleChoiceField(
                    label=label, choices=choices, required=False, widget=forms.CheckboxSelectMultiple
                )
                names.append(self._add(name, field, initial, f"{path}.{fact}"))
            elif isinstance(spec, tuple):
                field = forms.ChoiceField(label=label, choices=[(UNSTATED, "not recorded"), *[(c, c) for c in spec]])
                names.append(self._add(name, field, value or UNSTATED, f"{path}.{fact}"))
                self.fields[name].required = False
            elif spec is bool:
                field = forms.ChoiceField(label=label, choices=TRI, required=False)
                names.append(self._add(name, field, _tri(value), f"{path}.{fact}"))
            elif fact == "establishments":
                field = forms.CharField(label=label, required=False)
                names.append(self._add(name, field, _codes_text(value), f"{path}.{fact}"))
            else:
                field = forms.CharField(label=label, required=False)
                names.append(self._add(name, field, value or "", f"{path}.{fact}"))
        if index > 0 and not profile:
            others = [(i, i) for i in ids if i and i != entity.get("id")]
            field = forms.ChoiceField(
                label="informed by (its clocks run from when that entity tells it)",
                choices=[("", "nobody: it knows when the incident does"), *others],
                required=False,
            )
            names.append(
                self._add(f"{prefix}-informed_by", field, entity.get("informed_by", ""), f"{path}.informed_by")
            )
            field = forms.BooleanField(
                label="the informing entity is its agent (HIPAA: discovery is shared)", required=False
            )
            names.append(self._add(f"{prefix}-agent", field, bool(entity.get("agent")), f"{path}.agent"))
            informed = entity.get("events", {}).get("informed_at")
            field = forms.DateTimeField(
                label="told at", required=False, input_formats=[TIME_FORMAT], widget=_datetime_widget()
            )
            names.append(self._add(f"{prefix}-informed_at", field, _local(informed, self.zone), f"{path}.events"))
        title = str(entity.get("name") or entity.get("id") or ("a new legal entity" if profile else "the organisation"))
        self.entity_sections.append((title, names))

    def _block_fields(self, index: int, block: dict[str, Any], *, new: bool) -> None:
        prefix = f"block-{index}"
        path = f"data.blocks[{index}]"
        names = [
            self._add(
                f"{prefix}-name",
                forms.CharField(label="name", required=False, help_text="a new block needs a name" if new else ""),
                block.get("name", ""),
                f"{path}.name",
            ),
            self._add(
                f"{prefix}-jurisdictions",
                forms.CharField(label="jurisdictions of its people", required=False),
                _codes_text(block.get("jurisdictions")),
                f"{path}.jurisdictions",
            ),
        ]
        categories = block.get("categories")
        known = list(DATA_CATEGORIES.items()) + [(c, c) for c in categories or [] if c not in DATA_CATEGORIES]
        names.append(
            self._add(
                f"{prefix}-categories",
                forms.MultipleChoiceField(
                    label="categories of data",
                    choices=[*known, (NONE, "none of these")],
                    required=False,
                    widget=forms.CheckboxSelectMultiple,
                ),
                (categories or [NONE]) if categories is not None else [],
                f"{path}.categories",
            )
        )
        names.append(
            self._add(
                f"{prefix}-personal_data",
                forms.ChoiceField(label="personal data", choices=TRI, required=False),
                _tri(block.get("personal_data")),
                f"{path}.personal_data",
            )
        )
        names.append(
            self._add(
                f"{prefix}-subjects_total",
                forms.IntegerField(label="people affected", min_value=0, required=False),
                block.get("subjects_total"),
                f"{path}.subjects_total",
            )
        )
        by_state = block.get("subjects_by_state")
        names.append(
            self._add(
                f"{prefix}-subjects_by_state",
                forms.CharField(
                    label="people per US state",
                    required=False,
                    help_text="e.g. US-NY=640, US-CA=120; blank: not recorded",
                ),
                ", ".join(f"{k}={v}" for k, v in (by_state or {}).items()),
                f"{path}.subjects_by_state",
            )
        )
        names.append(
            self._add(
                f"{prefix}-encrypted",
                forms.ChoiceField(label="encrypted", choices=TRI, required=False),
                _tri(block.get("encrypted")),
                f"{path}.encrypted",
            )
        )
        self.block_sections.append(("a new block of data" if new else str(block.get("name")), names))

    def _event_fields(self) -> None:
        events = self.base.get("events", {})
        for name in self.catalogue.events:
            if name == "informed_at":
                continue  # per entity, in its section
            term = self.catalogue.term(f"events.{name}")
            self._add(
                f"event-{name}",
                forms.DateTimeField(
                    label=name.replace("_", " "),
                    required=False,
                    input_formats=[TIME_FORMAT],
                    widget=_datetime_widget(),
                    help_text=f"{term.meaning} — {term.decided_by}",
                ),
                _local(events.get(name), self.zone),
                f"events.{name}",
            )

    def _decision_fields(self) -> None:
        decisions = self.base.get("decisions", {})
        for name in self.catalogue.decisions:
            term = self.catalogue.term(f"decisions.{name}")
            recorded = decisions.get(name)
            value = recorded.get("value") if isinstance(recorded, dict) else None
            if name in NUMERIC_DECISIONS:
                choices = [(UNSTATED, "not decided"), *[(str(n), str(n)) for n in NUMERIC_DECISIONS[name]]]
                initial = UNSTATED if value is None else str(value)
            else:
                choices = [(UNSTATED, "not decided"), ("true", "yes"), ("false", "no")]
                initial = _tri(value)
            taken = f"; decided by {recorded['by']} at {recorded['at']}" if isinstance(recorded, dict) else ""
            self._add(
                f"decision-{name}",
                forms.ChoiceField(
                    label=name.replace("_", " "),
                    choices=choices,
                    required=False,
                    help_text=f"{term.meaning} — {term.decided_by}{taken}",
                ),
                initial,
                f"decisions.{name}",
            )
            self.where[f"decisions.{name}.by"] = f"decision-{name}"
            self.where[f"decisions.{name}.at"] = f"decision-{name}"
            self._add(
                f"decision-{name}-note",
                forms.CharField(label="its grounds", required=False),
                recorded.get("note", "") if isinstance(recorded, dict) else "",
                f"decisions.{name}.note",
            )

    # ------------------------------------------------------------------------------- layout
    @property
    def entity_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.entity_sections]

    @property
    def block_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [(title, [self[name] for name in names]) for title, names in self.block_sections]

    def layout(self, relevant: set[str]) -> dict[str, list[Any]]:
        """Events and decisions in two lists each: those that matter now (recorded, or named by an open
        question of the incident) first; the rest of the vocabulary folded away."""
        recorded = set(self.base.get("events", {})) | set(self.base.get("decisions", {}))
        events = [n for n in self.catalogue.events if n != "informed_at"]
        decisions = list(self.catalogue.decisions)

        def shown(kind: str, name: str) -> bool:
            return name in recorded or f"{kind}.{name}" in relevant or (kind == "events" and name in KEY_EVENTS)

        return {
            "events": [self[f"event-{n}"] for n in events if shown("events", n)],
            "other_events": [self[f"event-{n}"] for n in events if not shown("events", n)],
            "decisions": [
                (self[f"decision-{n}"], self[f"decision-{n}-note"]) for n in decisions if shown("decisions", n)
            ],
            "other_decisions": [
                (self[f"decision-{n}"], self[f"decision-{n}-note"]) for n in decisions if not shown("decisions", n)
            ],
        }

    # ----------------------------------------------------------------------------- the result
    def _time(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        local = value.replace(tzinfo=None) if value.tzinfo is not None else value
        return utc_z(local.replace(tzinfo=self.zone))

    def _choice(self, value: str) -> bool | None:
        return None if value == UNSTATED else value == "true"

    def _list(self, field: str, ticked: list[str]) -> list[str] | None:
        if NONE in ticked and len(ticked) > 1:
            self.add_error(field, "tick 'none of these' alone, or the ones that apply")
        if not ticked:
            return None
        return [] if NONE in ticked else ticked

    @staticmethod
    def _set(target: dict[str, Any], key: str, value: Any) -> None:
        if value is None or value == "":
            target.pop(key, None)
        else:
            target[key] = value

    def _entity(self, index: int, entity: dict[str, Any], *, profile: bool = False) -> dict[str, Any]:
        prefix = f"entity-{index}"
        out = dict(entity)
        data = self.cleaned_data
        if profile:
            if not entity:
                self._set(out, "id", (data.get(f"{prefix}-id") or "").strip() or None)
            self._set(out, "name", (data.get(f"{prefix}-name") or "").strip() or None)
        for fact, spec in ENTITY.items():
            if fact in ENTITY_SKIPPED:
                continue
            name = f"{prefix}-{fact}"
            if name not in data:
                continue
            value = data[name]
            if fact in ("roles", "card_brands"):
                self._set(out, fact, self._list(name, value))
            elif isinstance(spec, tuple):
                self._set(out, fact, value or None)
            elif spec is bool:
                self._set(out, fact, self._choice(value))
            elif fact == "establishments":
                self._set(out, fact, _codes(value) or None)
            else:
                self._set(out, fact, value.strip() or None)
        if index > 0 and not profile:
            self._set(out, "informed_by", data.get(f"{prefix}-informed_by") or None)
            self._set(out, "agent", True if data.get(f"{prefix}-agent") else None)
            events = dict(out.get("events", {}))
            self._set(events, "informed_at", self._time(data.get(f"{prefix}-informed_at")))
            self._set(out, "events", events or None)
        return out

    def _block(self, index: int, block: dict[str, Any]) -> dict[str, Any] | None:
        prefix = f"block-{index}"
        data = self.cleaned_data
        name = (data.get(f"{prefix}-name") or "").strip()
        if not name:
            return None
        out = dict(block)
        out["name"] = name
        self._set(out, "jurisdictions", _codes(data.get(f"{prefix}-jurisdictions", "")) or None)
        self._set(out, "categories", self._list(f"{prefix}-categories", data.get(f"{prefix}-categories", [])))
        self._set(out, "personal_data", self._choice(data.get(f"{prefix}-personal_data", "")))
        self._set(out, "subjects_total", data.get(f"{prefix}-subjects_total"))
        self._set(out, "encrypted", self._choice(data.get(f"{prefix}-encrypted", "")))
        text = (data.get(f"{prefix}-subjects_by_state") or "").strip()
        by_state: dict[str, int] = {}
        for part in [p for p in text.split(",") if p.strip()]:
            match = STATE_COUNT.match(part.upper())
            if match is None:
                self.add_error(
                    f"{prefix}-subjects_by_state", f"{part.strip()!r}: write a state and a number, US-NY=640"
                )
                continue
            by_state[match.group(1)] = int(match.group(2))
        self._set(out, "subjects_by_state", by_state or None)
        if not text:
            out.pop("max_subjects_per_state", None)
        return out

    def _decisions(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        recorded = self.base.get("decisions", {})
        for name in self.catalogue.decisions:
            raw = self.cleaned_data.get(f"decision-{name}", UNSTATED)
            note = (self.cleaned_data.get(f"decision-{name}-note") or "").strip()
            if raw == UNSTATED:
                continue
            value: bool | int = int(raw) if name in NUMERIC_DECISIONS else raw == "true"
            previous = recorded.get(name)
            if isinstance(previous, dict) and previous.get("value") == value:
                kept = dict(previous)
                self._set(kept, "note", note or None)
                out[name] = kept
            else:  # taken now, by the person submitting
                out[name] = {"value": value, "by": self.decided_by, "at": utc_z(self.now)}
                if note:
                    out[name]["note"] = note
        return out

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        facts = copy.deepcopy(self.base)
        facts["deadline_tz"] = cleaned["deadline_tz"]
        self._set(facts, "jurisdictions", _codes(cleaned.get("jurisdictions", "")) or None)
        encryption = dict(facts.get("encryption", {}))
        self._set(encryption, "key_compromised", self._choice(cleaned.get("key_compromised", "")))
        self._set(encryption, "encrypted", self._choice(cleaned.get("encrypted", "")))
        facts["encryption"] = encryption
        entities = [facts.get("entity", {}), *facts.get("entities", [])]
        updated = [self._entity(i, e) for i, e in enumerate(entities)]
        facts["entity"] = updated[0]
        if updated[1:]:
            facts["entities"] = updated[1:]
        blocks = facts.get("data", {}).get("blocks", [])
        kept = [self._block(i, b) for i, b in enumerate([*blocks, {}])]
        facts["data"] = {"blocks": [b for b in kept if b is not None]}
        events = {}
        for name in self.catalogue.events:
            at = self._time(cleaned.get(f"event-{name}")) if name != "informed_at" else None
            if at is not None:
                events[name] = at
        facts["events"] = events
        facts["decisions"] = self._decisions()
        if self.errors:
            return cleaned
        try:
            facts_parse(facts, self.catalogue)
        except DomainError as exc:
            path = str(exc.details.get("field", ""))
            field = self.where.get(path) or next(
                (self.where[p] for p in sorted(self.where, key=len, reverse=True) if path.startswith(p)), None
            )
            self.add_error(field, f"{exc.code}: {exc.message}")
            return cleaned
        cleaned["facts"] = facts
        return cleaned

    def facts(self) -> dict[str, Any]:
        if not self.is_valid():
            raise FactsInvalid("the form has errors", field="")
        return dict(self.cleaned_data["facts"])


def _datetime_widget() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=TIME_FORMAT)


class ProfileForm(FactsForm):
    """The organisation profile: the legal entities (add, edit, remove) and the principal zone. Only the
    entity sections of the facts form, with the entities' ids and names."""

    def __init__(self, *args: Any, profile: dict[str, Any], catalogue: Catalogue, **kwargs: Any) -> None:
        forms.Form.__init__(self, *args, **kwargs)
        self.base = copy.deepcopy(profile)
        self.catalogue = catalogue
        self.where = {"deadline_tz": "deadline_tz"}
        self.entity_sections = []
        self.block_sections = []
        self.zone = ZoneInfo("UTC")
        for name in ("times_tz", "jurisdictions", "key_compromised", "encrypted"):
            del self.fields[name]
        self.fields["deadline_tz"].label = "Deadline zone of the principal entity (day-based deadlines)"
        self.initial.setdefault("deadline_tz", self.base.get("deadline_tz", "UTC"))
        entities = list(self.base.get("entities", []))
        ids = [e.get("id", "") for e in entities]
        for index, entity in enumerate([*entities, {}]):
            self._entity_fields(index, entity, ids, profile=True)

    def clean(self) -> dict[str, Any]:
        cleaned = forms.Form.clean(self) or {}
        if self.errors:
            return cleaned
        entities = list(self.base.get("entities", []))
        out = []
        for index, entity in enumerate([*entities, {}]):
            if cleaned.get(f"entity-{index}-remove"):
                continue
            updated = self._entity(index, entity, profile=True)
            if entity or updated.get("id") or updated.get("name"):
                out.append(updated)
        if self.errors:
            return cleaned
        cleaned["entities"] = out
        return cleaned
