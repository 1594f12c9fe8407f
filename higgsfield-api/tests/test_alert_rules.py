"""The alert rules in deploy/prometheus/ name metrics the running service exports, with labels
they have, and the scrape job prometheus.yml defines.

The rules live at the repository's root, outside higgsfield-api/: where the suite runs from the
service directory alone (the Docker test image), these tests are skipped and say why.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.app import HEALTH_UUID, eventually
from tests.support.images import png
from tests.support.processes import SERVICE_DIR

PROM_DIR = SERVICE_DIR.parent / "deploy" / "prometheus"
# Series Prometheus makes itself for every target, not found in /metrics.
PROMETHEUS_OWN = {"up"}

pytestmark = pytest.mark.skipif(
    not PROM_DIR.is_dir(),
    reason="deploy/ is absent (the suite runs from higgsfield-api/ alone)",
)

STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
SELECTOR = re.compile(r'([A-Za-z_:][A-Za-z0-9_:]*)\s*\{((?:[^}"]|"(?:[^"\\]|\\.)*")*)\}')
MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
NOISE = re.compile(
    r"\{[^}]*\}"  # label matchers
    r"|\[[^\]]*\]"  # ranges
    r"|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"  # label lists
    r"|\b\d[\w.]*"  # numbers and durations (5m, 0.25, 1e3)
)
NAME = re.compile(r"(?<![A-Za-z0-9_:])[A-Za-z_:][A-Za-z0-9_:]*(?!\s*\(|[A-Za-z0-9_:])")
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring"}
KEYWORDS |= {"group_left", "group_right"}


def metric_names(expr: str) -> set[str]:
    """The metric names in a PromQL expression: identifiers that are not functions, aggregations,
    keywords, label names or numbers."""
    text = NOISE.sub(" ", STRING.sub('""', expr))
    return {name for name in NAME.findall(text) if name not in KEYWORDS}


def label_matchers(expr: str) -> dict[str, dict[str, str]]:
    """{metric: {label: value}} of the selectors with matchers, e.g. `hfapi_tasks{status="pending"}`."""
    return {name: dict(MATCHER.findall(body)) for name, body in SELECTOR.findall(expr)}


def load(name: str) -> Any:
    return yaml.safe_load((PROM_DIR / name).read_text())


def rules() -> list[dict[str, Any]]:
    return [rule for group in load("alerts.yml")["groups"] for rule in group["rules"]]


def exposed(text: str) -> dict[str, set[str]]:
    """{sample name: label names seen on it} of an exposition; counters and histograms under the
    names PromQL uses (`_total`, `_bucket`, `_sum`, `_count`), also when they have no sample yet."""
    found: dict[str, set[str]] = defaultdict(set)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    for family in text_string_to_metric_families(text):
        for suffix in suffixes.get(family.type, ("",)):
            found[family.name + suffix]
        for sample in family.samples:
            found[sample.name] |= set(sample.labels)
    return found


def test_the_name_reader_sees_names_and_only_names():
    """The checks below would pass on rules they cannot read: it must see these, and no more."""
    expr = (
        'sum by (endpoint) (rate(hfapi_a_total{outcome=~"x|y", route="/h/{id}"}[10m]))'
        " / on () group_left max(hfapi_b) > 0.25 unless hfapi_c offset 5m or up == bool 1e3"
    )
    assert metric_names(expr) == {"hfapi_a_total", "hfapi_b", "hfapi_c", "up"}
    assert label_matchers(expr)["hfapi_a_total"] == {"outcome": "x|y", "route": "/h/{id}"}
    assert all(metric_names(rule["expr"]) for rule in rules())


def test_every_rule_has_a_summary_a_description_and_a_severity():
    for rule in rules():
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]


def test_the_rules_select_the_job_prometheus_yml_scrapes():
    config = load("prometheus.yml")
    assert config["rule_files"] == ["alerts.yml"]
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    selected = {
        matchers["job"]
        for rule in rules()
        for matchers in label_matchers(rule["expr"]).values()
        if "job" in matchers
    }
    assert selected and selected <= jobs


async def test_every_metric_a_rule_names_is_in_the_service_metrics(service, api_key):
    # Traffic that makes the labelled series appear: a task's trip upstream, a health check.
    created = await service.client.post(
        "/api/higgsfield/i2v/", headers={"X-API-KEY": api_key}, files={"image": ("a.png", png(), "image/png")}
    )
    assert created.status_code == 202
    assert (await service.client.get(f"/health/{HEALTH_UUID}")).status_code == 200

    async def job_set_read() -> bool:
        return service.fake.job_set_reads > 0

    await eventually(job_set_read, what="the poller to read the task's job set")
    answer = await service.client.get("/metrics")
    assert answer.status_code == 200
    metrics = exposed(answer.text)

    missing, unknown_labels = [], []
    for rule in rules():
        names = metric_names(rule["expr"]) - PROMETHEUS_OWN
        missing += [f"{rule['alert']}: {name}" for name in sorted(names - set(metrics))]
        for name, matchers in label_matchers(rule["expr"]).items():
            if name in metrics:
                unknown_labels += [
                    f"{rule['alert']}: {name}{{{label}}}" for label in matchers if label not in metrics[name]
                ]
    assert missing == [], "the rules name metrics /metrics does not have"
    assert unknown_labels == [], "the rules select labels those metrics do not have"
