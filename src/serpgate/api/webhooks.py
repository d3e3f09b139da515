"""``/account/webhook``: the caller's webhook signing secret and its default webhook URL.

The secret is shown to the tenant it belongs to (its receiver needs it to verify deliveries); the
default URL applies to every async search that names no ``webhook`` of its own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from serpgate.api.services import ServicesDep, TenantDep
from serpgate.errors import InvalidRequest
from serpgate.models.params import WEBHOOK_URL, SearchParams
from serpgate.webhooks.guard import RefusedTarget, check_literal
from serpgate.webhooks.signature import HEADER

router = APIRouter(tags=["account"])
ERRORS: dict[int | str, dict[str, object]] = {
    400: {"description": "The URL is not http(s), or points inside the network"},
    401: {"description": "No API key, or an unknown or revoked one"},
}


class WebhookAccount(BaseModel):
    url: str | None
    secret: str
    signature_header: str = HEADER


class WebhookDefault(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The form the schema can say; the validator below holds it to SearchParams' own rule.
    url: Annotated[str, Field(max_length=2048, pattern=WEBHOOK_URL)] | None

    @field_validator("url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        return SearchParams.model_validate({"engine": "x", "q": "x", "webhook": value}).webhook


async def _view(tenant_id: str, services: ServicesDep) -> WebhookAccount:
    webhooks = services.webhooks
    return WebhookAccount(
        url=await webhooks.default_url(tenant_id), secret=await webhooks.secret(tenant_id)
    )


@router.get(
    "/account/webhook",
    response_model=WebhookAccount,
    responses=ERRORS,
    summary="The default webhook and the secret that signs deliveries (docs/webhooks.md)",
)
async def webhook_account(tenant: TenantDep, services: ServicesDep) -> WebhookAccount:
    return await _view(tenant.id, services)


@router.put(
    "/account/webhook",
    response_model=WebhookAccount,
    responses=ERRORS,
    summary="Set (or with null, clear) the webhook of async searches that name none",
)
async def set_webhook(
    body: WebhookDefault, tenant: TenantDep, services: ServicesDep
) -> WebhookAccount:
    if body.url is not None:
        try:
            check_literal(body.url, allow_private=services.settings.webhooks.allow_private)
        except RefusedTarget as exc:
            raise InvalidRequest(str(exc)) from None
    await services.webhooks.set_default_url(tenant.id, body.url)
    return await _view(tenant.id, services)
