"""``manage.py key_manager_add NAME --kind openbao|vault|kmip|aws-kms …``: register a key manager.

Secrets are read from files (never from the command line, where ``ps`` would show them), tested
against the manager, then sealed under the master key. Nothing is stored when the test fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.actors import Actor
from keyvault.models import KeyManager
from keyvault.services.managers import key_manager_add
from webapp.errors import DomainError


def _read(path: str | None) -> str:
    if not path:
        return ""
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None


class Command(BaseCommand):
    help = "Register a key manager (OpenBao/Vault transit, KMIP, AWS KMS) after testing the connection."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="short name; keys are referenced as NAME:<key>")
        parser.add_argument("--kind", required=True, choices=KeyManager.Kind.values)
        parser.add_argument("--url", default="", help="OpenBao/Vault URL, KMS endpoint, or KMIP host:port")
        parser.add_argument("--mount", default="transit", help="transit mount path (openbao, vault)")
        parser.add_argument("--token-file", help="file holding the OpenBao/Vault token")
        parser.add_argument("--policy", default="default", help="transit: the policy every application token carries")
        parser.add_argument("--namespace", default="", help="Vault Enterprise / OpenBao namespace")
        parser.add_argument("--ca-file", default="", help="CA bundle for an https:// OpenBao/Vault URL")
        parser.add_argument("--region", default="", help="AWS region (aws-kms)")
        parser.add_argument("--access-key-id", default="", help="AWS access key id (else the default chain)")
        parser.add_argument("--secret-access-key-file", help="file holding the AWS secret access key")
        parser.add_argument(
            "--decrypt-role",
            action="append",
            default=[],
            help="aws-kms: a role ARN that keeps kms:Decrypt and kms:ReEncryptFrom (repeat)",
        )
        parser.add_argument("--client-cert", help="kmip: client certificate (PEM file)")
        parser.add_argument("--client-key", help="kmip: client private key (PEM file)")
        parser.add_argument("--ca", help="kmip: CA certificate of the server (PEM file)")
        parser.add_argument("--operation-policy", default="", help="kmip: operation policy name for new keys")

    def handle(self, *args: Any, **options: Any) -> None:
        kind = options["kind"]
        credentials: dict[str, str] = {}
        extra: dict[str, Any] = {}
        if kind in (KeyManager.Kind.OPENBAO, KeyManager.Kind.VAULT):
            credentials = {"token": _read(options["token_file"])}
            extra = {k: options[k] for k in ("namespace", "ca_file") if options[k]}
        elif kind == KeyManager.Kind.AWS_KMS:
            if options["access_key_id"]:
                credentials = {
                    "access_key_id": options["access_key_id"],
                    "secret_access_key": _read(options["secret_access_key_file"]),
                }
            extra = {"decrypt_roles": options["decrypt_role"]}
        else:
            credentials = {"client_cert": _read(options["client_cert"]), "client_key": _read(options["client_key"])}
            extra = {"ca_pem": _read(options["ca"])}
            if options["operation_policy"]:
                extra["operation_policy_name"] = options["operation_policy"]
        try:
            manager, description = key_manager_add(
                actor=Actor.system("manage.py key_manager_add"),
                name=options["name"],
                kind=kind,
                credentials=credentials,
                url=options["url"],
                mount=options["mount"],
                region=options["region"],
                governed_policy=options["policy"],
                options=extra,
            )
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        self.stdout.write(f"key manager {manager.name} registered: {description}")
