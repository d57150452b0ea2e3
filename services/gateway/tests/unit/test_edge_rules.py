"""The gateway's pure rules: path safety, the route table, token buckets, merging API documents."""

from __future__ import annotations

from motcua.gateway.openapi import merge
from motcua.gateway.routes import is_api_path, is_safe, service_for
from motcua.gateway.throttle import TokenBuckets


def test_a_path_is_routed_by_whole_segments_only() -> None:
    assert service_for("/v1/accounts") == "identity"
    assert service_for("/v1/accounts/me/mfa/totp") == "identity"
    assert service_for("/.well-known/jwks.json") == "identity"
    assert service_for("/v1/agency/applications") == "submission"
    assert service_for("/v1/agencies") == "catalogue"
    assert service_for("/v1/accountsX") is None
    assert service_for("/metrics") is None
    assert service_for("/v1/internal/replay") is None


def test_dot_and_empty_segments_are_unsafe() -> None:
    for bad in (
        "/v1/accounts/../metrics",
        "/v1/accounts/./me",
        "/v1//accounts",
        "/v1/accounts/..",
        "/a\\b",
        "/v1/accounts/\x00",
        "relative",
    ):
        assert not is_safe(bad), bad
    for good in ("/", "/v1/accounts/", "/v1/accounts/me", "/assets/app.js", "/v1/lookup/HS-2026.ABC"):
        assert is_safe(good), good


def test_api_paths_are_never_the_portals() -> None:
    assert is_api_path("/v1/anything")
    assert is_api_path("/healthz")
    assert not is_api_path("/verify-email")
    assert not is_api_path("/v1x")


def test_a_bucket_admits_its_burst_then_its_rate() -> None:
    buckets = TokenBuckets(rate=2.0, burst=3, max_keys=10)
    assert [buckets.take("a", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a", now=0.0) == 0.5
    assert buckets.take("b", now=0.0) == 0.0
    assert buckets.take("a", now=0.5) == 0.0
    assert buckets.take("a", now=0.5) > 0


def test_buckets_forget_the_least_recently_seen_clients_past_the_cap() -> None:
    buckets = TokenBuckets(rate=1.0, burst=1, max_keys=2)
    for key in ("a", "b", "c"):
        buckets.take(key, now=0.0)
    assert len(buckets) == 2
    assert buckets.take("a", now=0.0) == 0.0  # forgotten, so full again
    assert buckets.take("c", now=0.0) > 0


def test_documents_merge_with_clashing_schema_names_kept_apart() -> None:
    def document(path: str, shape: str) -> dict[str, object]:
        return {
            "paths": {path: {"get": {"responses": {"200": {"$ref": "#/components/schemas/Item"}}}}, "/healthz": {}},
            "components": {"schemas": {"Item": {"type": shape}, "Same": {"type": "string"}}},
        }

    merged = merge({"identity": document("/v1/accounts", "object"), "catalogue": document("/v1/procedures", "array")})
    assert set(merged["paths"]) == {"/v1/accounts", "/v1/procedures"}
    assert merged["components"]["schemas"]["Item"] == {"type": "object"}
    assert merged["components"]["schemas"]["catalogue.Item"] == {"type": "array"}
    assert merged["components"]["schemas"]["Same"] == {"type": "string"}
    ref = merged["paths"]["/v1/procedures"]["get"]["responses"]["200"]["$ref"]
    assert ref == "#/components/schemas/catalogue.Item"
