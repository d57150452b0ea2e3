"""The Kubernetes manifests: valid, complete, locked down, and in step with motcua.common.topics."""

from __future__ import annotations

import base64
import copy
import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from motcua.common import topics
from motcua.common.asyncapi import CONSUMER_GROUPS, GROUPLESS_READERS, build, group_service

from . import service_settings
from .service_settings import PORT_VARIABLES, PORTS, SERVICES

Manifest = dict[str, Any]
Values = dict[str, str | None]  # variable → value; None: set, but only the operator knows the value

RENDERS = ("base", "dev", "production")
OVERLAYS = ("dev", "production")
# The namespace the Ingress controller runs in (ingress-nginx's own; an overlay patches it for another).
INGRESS_CONTROLLER_NAMESPACE = {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
CONSUMED = {topic for consumed in CONSUMER_GROUPS.values() for topic in consumed}


def find(manifests: list[Manifest], kind: str, name: str | None = None) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind and (name is None or m["metadata"]["name"] == name)]


def one(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = find(manifests, kind, name)
    assert len(found) == 1, f"expected one {kind}/{name}, found {len(found)}"
    return found[0]


def container(manifests: list[Manifest], service: str) -> Manifest:
    spec = one(manifests, "Deployment", service)["spec"]["template"]["spec"]
    assert len(spec["containers"]) == 1
    result: Manifest = spec["containers"][0]
    return result


@pytest.fixture(scope="module")
def operator_secrets(root: Path) -> dict[str, list[str]]:
    """Secret → the variables it holds, for the Secrets the operator makes: the guide's table tells them
    which keys to put in each."""
    guide = (root / "docs/operator-guide.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z0-9-]+)` \| ([^|]*) \|", guide, re.MULTILINE)
    return {secret: re.findall(r"`([A-Z][A-Z0-9_]*)`", keys) for secret, keys in rows}


def secret_data(manifests: list[Manifest], name: str) -> dict[str, str] | None:
    """A Secret's decoded data, or None when the manifests do not make it (the operator or Strimzi does)."""
    found = find(manifests, "Secret", name)
    if not found:
        return None
    data: dict[str, str] = {k: base64.b64decode(v).decode("utf-8") for k, v in found[0].get("data", {}).items()}
    data |= found[0].get("stringData", {})
    return data


def given(manifests: list[Manifest], service: str, operator_secrets: dict[str, list[str]]) -> list[tuple[str, Values]]:
    """Where the service's container gets its variables, in the order Kubernetes applies them (`env` last,
    winning): (source, its variables)."""
    c = container(manifests, service)
    sources: list[tuple[str, Values]] = []
    for ref in c.get("envFrom", []):
        if "configMapRef" in ref:
            name = ref["configMapRef"]["name"]
            sources.append((f"ConfigMap/{name}", dict(one(manifests, "ConfigMap", name)["data"])))
        if "secretRef" in ref:
            name = ref["secretRef"]["name"]
            data = secret_data(manifests, name)
            if data is None:
                assert name in operator_secrets, f"Secret/{name}: neither in the manifests nor in the guide's table"
            values: Values = dict.fromkeys(operator_secrets[name]) if data is None else dict(data)
            sources.append((f"Secret/{name}", values))
    env: Values = {}
    for e in c.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        elif "secretKeyRef" in e["valueFrom"]:
            ref = e["valueFrom"]["secretKeyRef"]
            data = secret_data(manifests, ref["name"])
            if data is None or ref["key"] in data:
                env[e["name"]] = None if data is None else data[ref["key"]]
            else:
                assert ref.get("optional"), f"{service}: {e['name']} names a key Secret/{ref['name']} does not have"
        else:
            env[e["name"]] = None
    return [*sources, (f"Deployment/{service} env", env)]


def environment(manifests: list[Manifest], service: str, operator_secrets: dict[str, list[str]]) -> Values:
    """The service's variables as its container sees them."""
    merged: Values = {}
    for _, values in given(manifests, service, operator_secrets):
        merged |= values
    return merged


def config(manifests: list[Manifest]) -> dict[str, str]:
    maps = [m for m in find(manifests, "ConfigMap") if m["metadata"]["name"].startswith("motcua-config")]
    assert len(maps) == 1
    data: dict[str, str] = maps[0]["data"]
    return data


# --- validity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("render", RENDERS)
def test_every_manifest_validates_against_kubernetes_and_strimzi_schemas(
    rendered: dict[str, list[Manifest]], validate: Callable[[Manifest], list[str]], render: str
) -> None:
    problems = [p for m in rendered[render] for p in validate(m)]
    assert problems == []


def test_the_validator_refuses_what_a_cluster_would_refuse(
    rendered: dict[str, list[Manifest]], validate: Callable[[Manifest], list[str]]
) -> None:
    deployment = copy.deepcopy(one(rendered["production"], "Deployment", "gateway"))
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFileSystem"] = True
    topic = copy.deepcopy(find(rendered["production"], "KafkaTopic")[0])
    topic["spec"]["partitions"] = 0
    user = copy.deepcopy(one(rendered["production"], "KafkaUser", "agency-example"))
    user["spec"]["authorization"]["acls"][0]["operation"] = "Read"  # the field v1 removed
    assert validate(deployment)
    assert validate(topic)
    assert validate(user)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_put_everything_in_their_namespace(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    namespace = one(rendered[overlay], "Namespace", "motcua" if overlay == "production" else "motcua-dev")
    name = namespace["metadata"]["name"]
    assert {m["metadata"].get("namespace") for m in rendered[overlay] if m["kind"] != "Namespace"} == {name}


# --- topics and ACLs --------------------------------------------------------------------------


@pytest.mark.parametrize("render", RENDERS)
def test_kafka_topics_are_exactly_the_platforms_topics_and_dead_letter_topics(
    rendered: dict[str, list[Manifest]], render: str
) -> None:
    declared = {m["metadata"]["name"]: m["spec"] for m in find(rendered[render], "KafkaTopic")}
    expected = set(topics.ALL) | {topics.dead_letter(t) for t in CONSUMED}
    assert set(declared) == expected
    for topic in topics.ALL:
        assert declared[topic]["partitions"] == topics.PARTITIONS[topic]
    for topic in CONSUMED:
        # A dead-lettered record can keep its partition and its order.
        assert declared[topics.dead_letter(topic)]["partitions"] == topics.PARTITIONS[topic]
        assert declared[topics.dead_letter(topic)]["config"]["cleanup.policy"] == "delete"
    for topic in topics.ALL:
        policy = declared[topic]["config"]["cleanup.policy"]
        assert policy == ("compact" if topic in topics.COMPACTED else "delete"), topic
    assert topics.CATALOGUE_PROCEDURE in topics.COMPACTED


@pytest.mark.parametrize("render", RENDERS)
def test_topics_carrying_secrets_keep_them_no_longer_than_they_live(
    rendered: dict[str, list[Manifest]], render: str
) -> None:
    declared = {m["metadata"]["name"]: m["spec"]["config"] for m in find(rendered[render], "KafkaTopic")}
    # verification links live 24 h (IDENTITY_EMAIL_LINK_TTL_SECONDS), reset links 1 h, SMS codes 10 minutes
    for name in (topics.IDENTITY_ACCOUNT, topics.dead_letter(topics.IDENTITY_ACCOUNT)):
        assert int(declared[name]["retention.ms"]) == 24 * 3600 * 1000, name
    for name, config in declared.items():  # the manifests and the code that creates topics agree
        wanted = topics.declared_config(name).get("retention.ms")
        assert wanted is None or str(config["retention.ms"]) == wanted, name


def test_production_topics_survive_losing_a_broker(rendered: dict[str, list[Manifest]]) -> None:
    for topic in find(rendered["production"], "KafkaTopic"):
        assert topic["spec"]["replicas"] == 3
        assert topic["spec"]["config"]["min.insync.replicas"] == 2


def test_topic_settings_match_the_asyncapi_document(rendered: dict[str, list[Manifest]]) -> None:
    declared = {m["metadata"]["name"]: m["spec"] for m in find(rendered["production"], "KafkaTopic")}
    for channel in (
        c for c in build()["channels"].values() if "kafka" in c["bindings"] and "topic" in c["bindings"]["kafka"]
    ):
        binding = channel["bindings"]["kafka"]
        spec = declared[binding["topic"]]
        assert spec["partitions"] == binding["partitions"]
        assert spec["replicas"] == binding["replicas"]
        for key, value in binding["topicConfiguration"].items():
            assert spec["config"][key] == (",".join(value) if isinstance(value, list) else value)


def acl_grants(manifests: list[Manifest]) -> dict[str, set[tuple[str, str, str]]]:
    """user → {(resource type, resource name, operation)}"""
    grants: dict[str, set[tuple[str, str, str]]] = {}
    for user in find(manifests, "KafkaUser"):
        spec = user["spec"]
        assert spec["authentication"]["type"] == "scram-sha-512"
        rules = grants.setdefault(user["metadata"]["name"], set())
        for acl in spec["authorization"]["acls"]:
            pattern = acl["resource"].get("patternType", "literal")
            if pattern == "prefix":  # only submission, only for the agencies' topics it writes and creates
                assert (user["metadata"]["name"], acl["resource"]["name"]) == (
                    "motcua-submission",
                    topics.AGENCY_TOPIC_PREFIX,
                ), acl
            else:
                assert pattern == "literal", acl
            assert acl.get("type", "allow") == "allow"
            for op in acl["operations"]:
                rules.add((acl["resource"]["type"], acl["resource"]["name"], op))
    return grants


@pytest.mark.parametrize("render", RENDERS)
def test_each_service_has_exactly_the_kafka_access_it_needs(rendered: dict[str, list[Manifest]], render: str) -> None:
    grants = acl_grants(rendered[render])
    producers = {topic: f"motcua-{topic.split('.')[1]}" for topic in topics.ALL}
    expected: dict[str, set[tuple[str, str, str]]] = {f"motcua-{s}": set() for s in SERVICES}
    for topic, user in producers.items():
        expected[user] |= {("topic", topic, "Describe"), ("topic", topic, "Write")}
    for group, consumed in CONSUMER_GROUPS.items():
        user = f"motcua-{group_service(group)}"
        expected[user].add(("group", group, "Read"))
        for topic in consumed:
            expected[user] |= {("topic", topic, "Describe"), ("topic", topic, "Read")}
            dlq = topics.dead_letter(topic)
            expected[user] |= {("topic", dlq, "Describe"), ("topic", dlq, "Write")}
    for topic, readers in GROUPLESS_READERS.items():
        for reader in readers:
            expected[f"motcua-{reader}"] |= {("topic", topic, "Describe"), ("topic", topic, "Read")}
    expected["motcua-submission"] |= {
        ("topic", topics.AGENCY_TOPIC_PREFIX, "Describe"),
        ("topic", topics.AGENCY_TOPIC_PREFIX, "Write"),
        ("topic", topics.AGENCY_TOPIC_PREFIX, "Create"),
    }
    expected["agency-example"] = {
        ("topic", topics.agency("EXAMPLE"), "Describe"),
        ("topic", topics.agency("EXAMPLE"), "Read"),
        ("group", "agency-example", "Read"),
    }
    assert grants == expected


def test_an_agency_reads_only_its_own_topic(rendered: dict[str, list[Manifest]]) -> None:
    """Agency B's Kafka user cannot read the application topic, where agency A's dossiers are, nor A's topic."""
    grants = acl_grants(rendered["production"])["agency-example"]
    readable = {name for kind, name, op in grants if kind == "topic" and op == "Read"}
    assert readable == {topics.agency("EXAMPLE")}
    assert topics.SUBMISSION_APPLICATION not in readable


def test_only_notification_reads_the_identity_topic(rendered: dict[str, list[Manifest]]) -> None:
    grants = acl_grants(rendered["production"])
    readers = {user for user, rules in grants.items() if ("topic", topics.IDENTITY_ACCOUNT, "Read") in rules}
    assert readers == {"motcua-notification"}


def test_services_authenticate_as_their_own_kafka_user(rendered: dict[str, list[Manifest]]) -> None:
    for service in SERVICES:
        env = {e["name"]: e for e in container(rendered["production"], service)["env"]}
        assert env["KAFKA_SASL_USERNAME"]["value"] == f"motcua-{service}"
        assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": f"motcua-{service}",
            "key": "password",
        }


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize("render", RENDERS)
def test_every_variable_the_manifests_set_is_one_a_service_reads(
    rendered: dict[str, list[Manifest]], operator_secrets: dict[str, list[str]], render: str
) -> None:
    receivers: dict[str, set[str]] = {}
    variables: dict[str, set[str]] = {}
    for service in SERVICES:
        for source, values in given(rendered[render], service, operator_secrets):
            receivers.setdefault(source, set()).add(service)
            variables[source] = set(values)
    # A ConfigMap shared by every service may hold what only one of them reads (GATEWAY_TRUSTED_PROXIES).
    unread = {
        source: sorted(n for n in names if all(service_settings.unread(s, [n]) for s in receivers[source]))
        for source, names in variables.items()
    }
    assert {source: names for source, names in unread.items() if names} == {}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_gets_every_variable_it_must_have(
    rendered: dict[str, list[Manifest]], operator_secrets: dict[str, list[str]], overlay: str, service: str
) -> None:
    env = environment(rendered[overlay], service, operator_secrets)
    known = {name: value for name, value in env.items() if value is not None}
    assert service_settings.missing(service, env) == set()
    assert service_settings.problems(service, known, unknown=set(env) - set(known)) == []
    assert int(known[PORT_VARIABLES[service]]) == PORTS[service]
    # The KafkaTopics and KafkaUsers name the topics without a prefix.
    assert known.get("KAFKA_TOPIC_PREFIX", "") == ""


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_turns_on_the_idempotent_producer(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    assert config(rendered[overlay])["KAFKA_IDEMPOTENT_PRODUCER"] == "true"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", ["identity", "catalogue", "submission", "notification"])
def test_each_consumer_is_a_static_group_member_named_by_its_pod(
    rendered: dict[str, list[Manifest]], overlay: str, service: str
) -> None:
    container = one(rendered[overlay], "Deployment", service)["spec"]["template"]["spec"]["containers"][0]
    variable = next(e for e in container["env"] if e["name"] == "KAFKA_GROUP_INSTANCE_ID")
    assert variable["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_the_public_address_is_the_ingress_host(rendered: dict[str, list[Manifest]]) -> None:
    url = urlsplit(config(rendered["production"])["PUBLIC_BASE_URL"])
    ingress = one(rendered["production"], "Ingress", "gateway")["spec"]
    assert url.scheme == "https"
    assert [r["host"] for r in ingress["rules"]] == [url.hostname]
    assert ingress["tls"] == [{"hosts": [url.hostname], "secretName": "motcua-tls"}]


def test_secrets_come_from_secrets_not_config_maps(
    rendered: dict[str, list[Manifest]], operator_secrets: dict[str, list[str]]
) -> None:
    for service in SERVICES:
        # A connection string carries the database user's password.
        secrets = service_settings.secrets(service) | {"MONGODB_URI"}
        env = {e["name"]: e for e in container(rendered["production"], service)["env"]}
        assert {"MONGODB_URI", "KAFKA_SASL_PASSWORD"} <= set(env)
        for name in secrets & set(env):
            assert "secretKeyRef" in env[name].get("valueFrom", {}), f"{service}: {name} is not from a Secret"
        for source, values in given(rendered["production"], service, operator_secrets):
            if source.startswith("ConfigMap/"):
                assert secrets.isdisjoint(values), f"{service}: {source} holds a secret"
    identity = container(rendered["production"], "identity")
    env = {e["name"]: e for e in identity["env"]}
    assert "secretKeyRef" in env["IDENTITY_BOOTSTRAP_ADMIN_PASSWORD"]["valueFrom"]
    mount = next(m for m in identity["volumeMounts"] if m["name"] == "signing-key")
    assert env["IDENTITY_SIGNING_KEY_FILE"]["value"].startswith(mount["mountPath"] + "/")
    volumes = one(rendered["production"], "Deployment", "identity")["spec"]["template"]["spec"]["volumes"]
    assert next(v for v in volumes if v["name"] == "signing-key")["secret"]["secretName"] == (
        "motcua-identity-signing-key"
    )
    assert {"configMapRef": {"name": config_name(rendered["production"])}} in container(
        rendered["production"], "notification"
    )["envFrom"]
    assert {"secretRef": {"name": "motcua-notification-providers"}} in container(
        rendered["production"], "notification"
    )["envFrom"]


def config_name(manifests: list[Manifest]) -> str:
    names = [str(m["metadata"]["name"]) for m in find(manifests, "ConfigMap")]
    return next(n for n in names if n.startswith("motcua-config"))


# --- workloads --------------------------------------------------------------------------------


@pytest.mark.parametrize("render", RENDERS)
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_runs_locked_down_with_probes_and_resources(
    rendered: dict[str, list[Manifest]], render: str, service: str
) -> None:
    deployment = one(rendered[render], "Deployment", service)
    pod = deployment["spec"]["template"]["spec"]
    c = container(rendered[render], service)
    assert c["command"] == ["python", "-m", f"motcua.{service}"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    # A Service named `identity` would otherwise inject IDENTITY_PORT=tcp://… into every pod.
    assert pod["enableServiceLinks"] is False
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    tmp = next(m for m in c["volumeMounts"] if m["mountPath"] == "/tmp")
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == tmp["name"])
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["ports"] == [{"name": "http", "containerPort": PORTS[service]}]
    assert {"cpu", "memory"} <= set(c["resources"]["requests"])
    assert "memory" in c["resources"]["limits"]
    service_spec = one(rendered[render], "Service", service)["spec"]
    assert service_spec["ports"][0]["port"] == PORTS[service]


@pytest.mark.parametrize("render", RENDERS)
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_scales_and_survives_node_drains(
    rendered: dict[str, list[Manifest]], render: str, service: str
) -> None:
    hpa = one(rendered[render], "HorizontalPodAutoscaler", service)["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service}
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    assert one(rendered[render], "Deployment", service)["spec"]["replicas"] == hpa["minReplicas"]
    pdb = one(rendered[render], "PodDisruptionBudget", service)["spec"]
    assert pdb["selector"]["matchLabels"] == {"app.kubernetes.io/name": service}


@pytest.mark.parametrize("render", RENDERS)
def test_a_consumer_does_not_scale_past_its_topics_partitions(rendered: dict[str, list[Manifest]], render: str) -> None:
    # The notification service is mostly a consumer: replicas beyond the partitions would idle.
    hpa = one(rendered[render], "HorizontalPodAutoscaler", "notification")["spec"]
    assert hpa["maxReplicas"] <= max(topics.PARTITIONS[t] for t in CONSUMER_GROUPS["notification"])


def test_production_runs_several_replicas_of_each_service(rendered: dict[str, list[Manifest]]) -> None:
    for service in SERVICES:
        assert one(rendered["production"], "HorizontalPodAutoscaler", service)["spec"]["minReplicas"] >= 2


# --- network ----------------------------------------------------------------------------------


def selects(policy: Manifest, labels: dict[str, str]) -> bool:
    selector = policy["spec"]["podSelector"]
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        assert expr["operator"] == "In"
        if labels.get(expr["key"]) not in expr["values"]:
            return False
    return True


def policies_of(manifests: list[Manifest], service: str, direction: str) -> list[Manifest]:
    """The NetworkPolicies that select the service's pods, after checking one of them denies `direction`
    ("Ingress" or "Egress") by default."""
    labels = one(manifests, "Deployment", service)["spec"]["template"]["metadata"]["labels"]
    policies = [p for p in find(manifests, "NetworkPolicy") if selects(p, labels)]
    denying = [p for p in policies if direction in p["spec"]["policyTypes"] and not p["spec"].get(direction.lower())]
    assert denying, f"no default deny of {direction} for {service}"
    return policies


def ports_of(rule: Manifest) -> set[int]:
    found: set[int] = set()
    for p in rule.get("ports", []):
        found |= set(range(p["port"], p.get("endPort", p["port"]) + 1))
    return found


@pytest.mark.parametrize("render", RENDERS)
@pytest.mark.parametrize("service", SERVICES)
def test_only_the_gateway_is_reachable_from_outside(
    rendered: dict[str, list[Manifest]], render: str, service: str
) -> None:
    for policy in policies_of(rendered[render], service, "Ingress"):
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from")
            assert peers, f"{policy['metadata']['name']} admits anyone to {service}"
            for peer in peers:
                assert "ipBlock" not in peer
                if "namespaceSelector" not in peer:
                    continue
                namespace = peer["namespaceSelector"]
                if namespace == INGRESS_CONTROLLER_NAMESPACE:  # the public entrance: to the gateway only
                    assert service == "gateway", f"the ingress controller reaches {service}"
                    assert ports_of(rule) == {PORTS["gateway"]}
                else:  # Prometheus, scraping /metrics
                    assert namespace == {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
                    assert ports_of(rule) <= set(PORTS.values())


@pytest.mark.parametrize("render", RENDERS)
def test_nothing_but_the_ingress_controller_reaches_the_gateways_public_port(
    rendered: dict[str, list[Manifest]], render: str
) -> None:
    # Any pod that reached the gateway could tell it who the client is (X-Forwarded-For from a trusted range).
    admitted = [
        peer
        for policy in policies_of(rendered[render], "gateway", "Ingress")
        for rule in policy["spec"].get("ingress", [])
        if PORTS["gateway"] in ports_of(rule)
        for peer in rule.get("from", [{}])
        if peer.get("namespaceSelector") != {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}
    ]
    assert admitted == [{"namespaceSelector": INGRESS_CONTROLLER_NAMESPACE}]


@pytest.mark.parametrize("render", RENDERS)
@pytest.mark.parametrize("variable", ["GATEWAY_TRUSTED_PROXIES", "FORWARDED_ALLOW_IPS"])
def test_only_named_proxy_ranges_are_believed_about_the_client_address(
    rendered: dict[str, list[Manifest]], render: str, variable: str
) -> None:
    # `*` (or a range as wide) lets every caller write its own X-Forwarded-For, and so choose a fresh address
    # for every per-address limit, lockout and quota.
    value = config(rendered[render]).get(variable, "")
    names = [part.strip() for part in value.split(",") if part.strip()]
    assert names, f"{variable} is empty: every client would share the proxy's address"
    for name in names:
        assert name != "*", f"{variable}={value}: believes anyone"
        network = ipaddress.ip_network(name, strict=False)
        assert not network.is_global, f"{variable}: {name} is not a cluster's own range"
        assert network.prefixlen >= (8 if network.version == 4 else 32), f"{variable}: {name} is too wide"


@pytest.mark.parametrize("render", RENDERS)
@pytest.mark.parametrize("service", SERVICES)
def test_services_reach_only_mongodb_kafka_and_identity(
    rendered: dict[str, list[Manifest]], render: str, service: str
) -> None:
    allowed = {53, 27017, 9093, PORTS["identity"]}
    if service == "gateway":
        allowed |= {PORTS["catalogue"], PORTS["submission"], PORTS["notification"], PORTS["webhooks"]}
    if service == "webhooks":  # agencies' endpoints, public addresses only (WEBHOOKS_ALLOWED_PORTS)
        allowed |= {443, 8443}
    if service == "notification":
        allowed |= {25, 465, 587, 443} | ({1025} if render == "dev" else set())
    reached = set()
    for policy in policies_of(rendered[render], service, "Egress"):
        for rule in policy["spec"].get("egress", []):
            assert rule.get("ports"), f"{policy['metadata']['name']} opens every port"
            reached |= ports_of(rule)
    assert reached == allowed


def test_the_gateway_is_behind_the_ingress(rendered: dict[str, list[Manifest]]) -> None:
    for render in RENDERS:
        ingresses = find(rendered[render], "Ingress")
        assert [i["metadata"]["name"] for i in ingresses] == ["gateway"]
        backends = {p["backend"]["service"]["name"] for r in ingresses[0]["spec"]["rules"] for p in r["http"]["paths"]}
        assert backends == {"gateway"}
