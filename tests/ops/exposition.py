"""Reading Prometheus text exposition back, as a scraper would, into comparable samples."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Sample = tuple[str, frozenset[tuple[str, str]]]


def parse(text: str) -> dict[Sample, float]:
    """Every sample by (name, labels); the ``pid`` label of per-worker gauges is kept."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[Sample, float], name: str, **labels: str) -> float:
    """The one sample called ``name`` with exactly ``labels``; absent is a failure."""
    key = (name, frozenset(labels.items()))
    assert key in samples, (
        f"no sample {name}{labels}; have {sorted(k for k in samples if k[0] == name)}"
    )
    return samples[key]


def families(text: str) -> set[str]:
    return {family.name for family in text_string_to_metric_families(text)}
