"""Signal -> the application's own token refused ``encrypt`` by OpenBao, for 1 and 1,000 keys."""

from __future__ import annotations

import base64
import time
import urllib.error
import uuid
from typing import IO

from django.db import connection
from django.test.utils import setup_databases, setup_test_environment, teardown_databases

from bench.timing import percentile
from webapp.stack.key_managers import OpenBaoDev, openbao_dev_server

SIZES = {1: 30, 1000: 5}  # keys -> trials


def _refused(bao: OpenBaoDev, token: str, name: str) -> bool:
    try:
        bao.call("POST", f"transit/encrypt/{name}", {"plaintext": base64.b64encode(b"x").decode()}, token=token)
    except urllib.error.HTTPError as exc:
        return exc.code == 403
    return False


def _setup(bao: OpenBaoDev, count: int) -> tuple[str, list[str]]:
    prefix = f"bench{count}-{uuid.uuid4().hex[:6]}"
    names = [f"{prefix}-{i:04d}" for i in range(count)]
    for name in names:
        bao.call("POST", f"transit/keys/{name}", {})
    policy = f'path "transit/encrypt/{prefix}-*" {{ capabilities = ["update"] }}\n'
    bao.call("PUT", f"sys/policies/acl/app-{prefix}", {"policy": policy})
    token = str(bao.call("POST", "auth/token/create", {"policies": [f"app-{prefix}"]})["auth"]["client_token"])
    return token, names


def _reset(names: list[str], manager_name: str) -> None:
    """Back to active for the next trial (a bench shortcut: the restore path is one quorum per key)."""
    from keyvault.models import ManagedKey
    from keyvault.services.connectors import connector_for
    from keyvault.services.restriction import key_plan

    keys = list(ManagedKey.objects.filter(external_ref__in=[f"{manager_name}:{n}" for n in names]))
    connector = connector_for(keys[0].manager)  # type: ignore[arg-type]
    connector.allow_keys([key_plan(key)[1] for key in keys])
    ManagedKey.objects.filter(id__in=[k.id for k in keys]).update(state="active", restricted_at=None)


def _trial(bao: OpenBaoDev, token: str, names: list[str], manager_name: str, trial: int) -> float:
    from audit.actors import Actor
    from incidents.cloudevents import parse
    from incidents.services.signals import signal_receive

    event = parse(
        {
            "specversion": "1.0",
            "id": f"bench-{uuid.uuid4()}",
            "source": "https://bench.example/scanner",
            "type": "com.example.secret.leaked",
            "data": {"keys": [{"backend_ref": f"{manager_name}:{name}"} for name in names]},
        }
    )
    probes = [names[0], names[-1]]  # one policy edit covers them all: the first and last named suffice
    started = time.perf_counter()
    signal_receive(event=event, via="api", actor=Actor.system("bench"))
    while not all(_refused(bao, token, name) for name in probes):
        if time.perf_counter() - started > 60:
            from keyvault.models import ManagedKey

            why = ManagedKey.objects.filter(external_ref=f"{manager_name}:{names[0]}").values_list(
                "state", "restricted_at", "restriction_pending"
            )
            raise TimeoutError(f"trial {trial}: OpenBao still encrypts 60 s after the signal: {list(why)}")
    return time.perf_counter() - started


def _baseline(bao: OpenBaoDev, token: str, names: list[str]) -> float:
    """The manager's floor: the same deny blocks written by hand in one policy edit, then the probe."""
    from keyvault.backends.transit import policy_with, policy_without

    text = str(bao.call("GET", "sys/policies/acl/default")["data"]["policy"])
    started = time.perf_counter()
    bao.call("PUT", "sys/policies/acl/default", {"policy": policy_with(text, "transit", names)})
    while not (_refused(bao, token, names[0]) and _refused(bao, token, names[-1])):
        pass
    elapsed = time.perf_counter() - started
    bao.call("PUT", "sys/policies/acl/default", {"policy": policy_without(text, "transit", names)})
    return elapsed


def run(out: IO[str]) -> int:
    from audit.actors import Actor
    from keyvault.services.managers import key_manager_add, key_manager_sync

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        out.write(f"database: {connection.vendor}\n")
        with openbao_dev_server() as bao:
            actor = Actor.system("bench")
            key_manager_add(actor=actor, name="bao", kind="openbao", url=bao.url, credentials={"token": bao.root_token})
            for count, trials in SIZES.items():
                token, names = _setup(bao, count)
                key_manager_sync(name="bao", actor=actor)
                times, floors = [], []
                for trial in range(trials):
                    floors.append(_baseline(bao, token, names))
                    times.append(_trial(bao, token, names, "bao", trial))
                    _reset(names, "bao")
                p50, p99 = percentile(times, 50), percentile(times, 99)
                b50 = percentile(floors, 50)
                out.write(
                    f"  [info] signal -> OpenBao refuses encrypt, {count:>5} key(s), {trials} trials: "
                    f"p50 {p50 * 1000:8.1f} ms  p99 {p99 * 1000:8.1f} ms  max {max(times) * 1000:8.1f} ms;  "
                    f"baseline (one policy write by hand) p50 {b50 * 1000:7.1f} ms, ratio {b50 / p50:5.3f}\n"
                )
        return 0
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)
