"""``SearchJob``: an accepted async search, as it travels through the queue to a worker.

It carries everything the worker needs to finish the search as the accepting replica would have:
the validated parameters (never the API key), the tenant, the links' origin and the webhook.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from serpgate.jobs.fairqueue import FAIR_KEY
from serpgate.models.params import SearchParams
from serpgate.traffic.tenants import Tenant


@dataclass(frozen=True, slots=True)
class SearchJob:
    search_id: str
    tenant: Tenant
    params: SearchParams
    base_url: str
    created: str
    webhook: str | None = None

    def to_kwargs(self) -> dict[str, Any]:
        return {
            "search_id": self.search_id,
            FAIR_KEY: self.tenant.id,
            "tenant": self.tenant.model_dump(mode="json"),
            "params": self.params.model_dump(
                mode="json", by_alias=True, exclude={"api_key"}, exclude_none=True
            ),
            "base_url": self.base_url,
            "created": self.created,
            "webhook": self.webhook,
        }

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> SearchJob:
        return cls(
            search_id=kwargs["search_id"],
            tenant=Tenant.model_validate(kwargs["tenant"]),
            params=SearchParams.model_validate(kwargs["params"]),
            base_url=kwargs["base_url"],
            created=kwargs["created"],
            webhook=kwargs.get("webhook"),
        )
