"""compose.yaml and the Prometheus files agree with the code they deploy and observe."""

from __future__ import annotations

import re

import yaml
from pydantic import BaseModel

from serpgate.metrics import Metrics
from serpgate.settings import Settings
from tests.ops.compose import ROOT, api_environment, interpolate, load_compose
from tests.ops.exposition import families

DEPLOY = ROOT / "deploy"


def is_setting(variable: str) -> bool:
    """Whether SERPGATE_A__B names a field path of ``Settings``, as pydantic-settings reads it."""
    model: type[BaseModel] = Settings
    *parents, leaf = variable.removeprefix("SERPGATE_").lower().split("__")
    for name in parents:
        annotation = model.model_fields[name].annotation if name in model.model_fields else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return False
        model = annotation
    return leaf in model.model_fields


def test_compose_runs_replicas_behind_nginx_on_a_persistent_redis() -> None:
    compose = load_compose()
    services = compose["services"]
    api, redis, nginx = services["api"], services["redis"], services["nginx"]

    assert api["build"] == "."
    assert api["deploy"]["replicas"] >= 2
    environment = api_environment(compose)
    assert environment["SERPGATE_REDIS_URL"] == "redis://redis:6379/0"
    assert environment["SERPGATE_HOST"] == "0.0.0.0"
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"
    for variable in api["environment"]:
        assert variable == "FORWARDED_ALLOW_IPS" or is_setting(variable), variable
    # Docker's stop timeout outlasts the whole drain, so SIGKILL never cuts it short.
    shutdown = Settings().shutdown
    assert int(api["stop_grace_period"].removesuffix("s")) > (
        shutdown.drain_delay + shutdown.grace_period
    )

    command = [interpolate(str(part)) for part in redis["command"]]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    assert "redis-data" in compose["volumes"]
    assert redis["healthcheck"]["test"][-1] == "ping"

    assert "./deploy/nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    assert nginx["depends_on"]["api"]["condition"] == "service_healthy"
    assert "server api:8000" in (DEPLOY / "nginx.conf").read_text()


def test_alerts_and_scrape_config_name_only_metrics_serpgate_exports() -> None:
    exported = families(Metrics(["bing"]).render().decode())
    suffixes = ("_total", "_bucket", "_count", "_sum")
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"][0]["rules"]
    names = {rule["alert"] for rule in rules}
    assert {"SerpgateHighErrorRate", "SerpgateBreakerOpen", "SerpgateProxyPoolDepleted"} <= names
    for rule in rules:
        assert rule["labels"]["severity"] in {"page", "warning"}
        assert rule["annotations"]["summary"]
        for metric in re.findall(r"\bserpgate_[a-z_]+", rule["expr"]):
            family = next((metric.removesuffix(s) for s in suffixes if metric.endswith(s)), metric)
            assert family in exported or metric in exported, (rule["alert"], metric)

    prometheus = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    assert all((DEPLOY / name).is_file() for name in prometheus["rule_files"])
    job = prometheus["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
