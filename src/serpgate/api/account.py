"""``GET /account``: the caller's plan, its limits and what has been used of them."""

from __future__ import annotations

import math

from fastapi import APIRouter
from pydantic import BaseModel

from serpgate.api.services import ServicesDep, TenantDep
from serpgate.traffic.ratelimit import plan_limits

router = APIRouter(tags=["account"])


class Account(BaseModel):
    """SerpApi's account fields where they apply; the key itself is never echoed.

    Usage counts searches that cost an upstream fetch (cached answers and failures are free);
    the rate-limit figures count every search.
    """

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
    month_resets_at: str
    account_rate_limit_per_hour: int | None
    account_rate_limit_per_minute: int | None
    rate_limits: dict[str, dict[str, int]]
    searches_in_flight: int


@router.get(
    "/account",
    response_model=Account,
    responses={401: {"description": "No API key, or an unknown or revoked one"}},
    summary="Plan, limits and usage of the calling API key (also at /account.json)",
)
@router.get("/account.json", response_model=Account, include_in_schema=False)
async def account(tenant: TenantDep, services: ServicesDep) -> Account:
    plan = services.tenants.plan_of(tenant)
    traffic = services.traffic
    usage = await traffic.quota.usage(tenant.id, plan)
    live = await traffic.limiter.hit(tenant.id, plan_limits(plan), cost=0)
    return Account(
        account_id=tenant.id,
        account_name=tenant.name,
        plan_id=tenant.plan,
        plan_name=plan.name,
        searches_per_month=plan.per_month,
        plan_searches_left=usage.month_remaining,
        total_searches_left=usage.month_remaining,
        this_month_usage=usage.this_month,
        this_hour_searches=usage.this_hour,
        last_hour_searches=usage.last_hour,
        month_resets_at=usage.month_resets_at.isoformat(),
        account_rate_limit_per_hour=plan.per_hour,
        account_rate_limit_per_minute=plan.per_minute,
        rate_limits={
            state.limit.name: {
                "limit": state.limit.limit,
                "remaining": state.remaining,
                "reset": math.ceil(state.reset),
            }
            for state in live.states
        },
        searches_in_flight=await traffic.in_flight.in_flight(tenant.id),
    )
