"""``GET /account``: the caller's plan, its limits and what has been used of them."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from serpgate.api.services import ServicesDep, TenantDep

router = APIRouter(tags=["account"])


class Account(BaseModel):
    """SerpApi's account fields where they apply; the key itself is never echoed."""

    account_id: str
    account_name: str
    plan_id: str
    plan_name: str
    searches_per_month: int | None
    plan_searches_left: int | None
    total_searches_left: int | None
    this_month_usage: int
    this_hour_searches: int
    last_hour_searches: int
    account_rate_limit_per_hour: int | None
    account_rate_limit_per_minute: int | None


@router.get(
    "/account",
    response_model=Account,
    responses={401: {"description": "No API key, or an unknown or revoked one"}},
    summary="Plan, limits and usage of the calling API key (also at /account.json)",
)
@router.get("/account.json", response_model=Account, include_in_schema=False)
async def account(tenant: TenantDep, services: ServicesDep) -> Account:
    plan = services.tenants.plan_of(tenant)
    usage = await services.usage.read(tenant.id)
    left = None if plan.per_month is None else max(0, plan.per_month - usage.this_month)
    return Account(
        account_id=tenant.id,
        account_name=tenant.name,
        plan_id=tenant.plan,
        plan_name=plan.name,
        searches_per_month=plan.per_month,
        plan_searches_left=left,
        total_searches_left=left,
        this_month_usage=usage.this_month,
        this_hour_searches=usage.this_hour,
        last_hour_searches=usage.last_hour,
        account_rate_limit_per_hour=plan.per_hour,
        account_rate_limit_per_minute=plan.per_minute,
    )
