"""Managed keys, their versions, what they protect, usage counters and encryption exceptions."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from keyvault.states import KeyState


class AiDataCategory(models.TextChoices):
    NONE = "", "Not AI-specific"
    MODEL_WEIGHTS = "model_weights", "Model weights"
    TRAINING_DATA = "training_data", "Training data"
    PROMPT_STORE = "prompt_store", "Prompt store"
    INFERENCE_RESULTS = "inference_results", "Inference results"
    MODEL_LOGS = "model_logs", "Model logs"
    EMBEDDINGS = "embeddings", "Embeddings / vector store"
    AGENT_MEMORY = "agent_memory", "Agent memory"
    OTHER = "other", "Other AI data"


class System(models.Model):
    """A system (application, service, storage layer) whose data a key protects."""

    name = models.CharField(max_length=200, unique=True)
    owner = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name


class DataAsset(models.Model):
    """Data a key protects: what it holds, how much, where its subjects live (for regulatory clocks)."""

    name = models.CharField(max_length=200, unique=True)
    system = models.ForeignKey(System, on_delete=models.PROTECT, related_name="data_assets")
    data_categories = models.JSONField(default=list, blank=True, help_text="e.g. personal_data, health, payment")
    record_count = models.PositiveBigIntegerField(default=0)
    jurisdictions = models.JSONField(default=list, blank=True, help_text="ISO codes, e.g. EU, DE, US-CA")
    encrypted = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class ManagedKey(models.Model):
    class Algorithm(models.TextChoices):
        AES_256_GCM = "AES-256-GCM", "AES-256-GCM"

    class Backend(models.TextChoices):
        LOCAL = "local", "Local envelope keystore"
        PKCS11 = "pkcs11", "PKCS#11 HSM"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    alias = models.SlugField(max_length=100, help_text="Applications name the key by alias; one active key per alias.")
    purpose = models.CharField(max_length=200)
    algorithm = models.CharField(max_length=20, choices=Algorithm.choices, default=Algorithm.AES_256_GCM)
    backend = models.CharField(max_length=10, choices=Backend.choices, default=Backend.LOCAL)
    state = models.CharField(
        max_length=24, choices=[(s.value, s.label) for s in KeyState], default=KeyState.PRE_ACTIVE.value
    )
    current_version = models.PositiveIntegerField(default=1)
    material_generation = models.PositiveIntegerField(
        default=0, help_text="Bumped whenever stored key material changes (lets processes cache it safely)"
    )
    custodian = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="custodied_keys"
    )
    ai_category = models.CharField(max_length=20, choices=AiDataCategory.choices, blank=True, default="")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", help_text="The KEK"
    )
    replaced_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces")
    data_assets = models.ManyToManyField(DataAsset, blank=True, related_name="keys")
    systems = models.ManyToManyField(System, blank=True, related_name="keys")
    legal_hold = models.BooleanField(default=False)
    external_ref = models.CharField(
        max_length=300, blank=True, db_index=True, help_text="The key's name elsewhere (KMS ARN, Vault path)"
    )
    exercise = models.BooleanField(default=False, help_text="A canary key made for a drill: never production data")

    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    compromise_occurred_at = models.DateTimeField(null=True, blank=True)
    compromise_discovered_at = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)
    restricted_at = models.DateTimeField(null=True, blank=True, help_text="Backend set to decrypt-only")
    retired_at = models.DateTimeField(
        null=True, blank=True, help_text="Retired without a replacement (a compromised key's other ending)"
    )
    retired_reason = models.TextField(blank=True, help_text="Why no replacement: required to retire")
    retired_by = models.CharField(max_length=150, blank=True)
    state_changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["alias", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["alias"], condition=Q(state="active"), name="one_active_key_per_alias"),
        ]

    def __str__(self) -> str:
        return f"{self.alias} ({self.id})"

    @property
    def key_state(self) -> KeyState:
        return KeyState(self.state)


class KeyVersion(models.Model):
    """Key material of one version: for ``local`` wrapped by the master key, for ``pkcs11`` an HSM handle."""

    key = models.ForeignKey(ManagedKey, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    material = models.BinaryField(help_text="local: wrapped key material; pkcs11: the object's CKA_ID")
    fingerprint = models.CharField(max_length=64, db_index=True, help_text="hex AES-CMAC(key, fingerprint label)")
    created_at = models.DateTimeField(auto_now_add=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["key", "version"]
        constraints = [models.UniqueConstraint(fields=["key", "version"], name="one_row_per_key_version")]

    def __str__(self) -> str:
        return f"{self.key_id} v{self.version}"


USAGE_SHARDS = 8


class KeyUsage(models.Model):
    """Operation counters, sharded so that concurrent callers rarely update the same row."""

    key = models.ForeignKey(ManagedKey, on_delete=models.CASCADE, related_name="usage")
    shard = models.PositiveSmallIntegerField()
    encrypt_count = models.PositiveBigIntegerField(default=0)
    decrypt_count = models.PositiveBigIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "shard"], name="one_usage_row_per_shard")]

    def __str__(self) -> str:
        return f"{self.key_id}[{self.shard}]"


class EncryptionException(models.Model):
    """A formally approved, time-boxed, budgeted permission to encrypt with a compromised key."""

    key = models.ForeignKey(ManagedKey, on_delete=models.CASCADE, related_name="encryption_exceptions")
    principal = models.CharField(max_length=150, help_text="The caller (username) it is scoped to")
    purpose = models.CharField(max_length=200, help_text="The purpose the caller must state")
    reason = models.TextField()
    incident = models.CharField(max_length=64, blank=True)
    operation_budget = models.PositiveIntegerField()
    operations_used = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    approval_reference = models.CharField(max_length=64, blank=True, help_text="The approval request behind it")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"exception {self.pk} on {self.key_id} for {self.principal}"


class DecryptGrant(models.Model):
    """An approved, time-boxed, budgeted permission to decrypt with a compromised key.

    A person's grant names them (``principal`` = username); a playbook rewrap job's grant names the
    job (``job:<name>``). Without a live grant nobody decrypts with a compromised key.
    """

    key = models.ForeignKey(ManagedKey, on_delete=models.CASCADE, related_name="decrypt_grants")
    principal = models.CharField(max_length=150)
    purpose = models.CharField(max_length=200)
    incident = models.CharField(max_length=64, blank=True)
    operation_budget = models.PositiveBigIntegerField()
    operations_used = models.PositiveBigIntegerField(default=0)
    expires_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    approval_reference = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["key", "principal"])]

    def __str__(self) -> str:
        return f"decrypt grant {self.pk} on {self.key_id} for {self.principal}"


class WrappedItem(models.Model):
    """Data (typically a wrapped data key) that an application registered for rewrapping: when its
    key is compromised, the playbook re-encrypts it under the replacement, inside Sequester."""

    key = models.ForeignKey(ManagedKey, on_delete=models.PROTECT, related_name="wrapped_items")
    data_asset = models.ForeignKey(DataAsset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reference = models.CharField(max_length=200, help_text="The application's own id for the record")
    ciphertext = models.BinaryField()
    aad = models.BinaryField(default=b"", blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["key", "id"])]
        constraints = [models.UniqueConstraint(fields=["data_asset", "reference"], name="one_item_per_reference")]

    def __str__(self) -> str:
        return f"{self.reference} under {self.key_id}"
