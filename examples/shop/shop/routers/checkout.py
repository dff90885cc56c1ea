import asyncio

from fastapi import APIRouter

from shop.crud import save_order
from shop.deps import CurrentUser, SessionDep
from shop.services.payments import gateway

router = APIRouter(prefix="/checkout", tags=["checkout"])


async def record_receipt(user_id: int, receipt: dict) -> None:
    loop = asyncio.get_event_loop()
    await loop.run_in_executor(None, print, user_id, receipt)


@router.post("/")
async def checkout(amount_cents: int, token: str, user: CurrentUser, db: SessionDep):
    receipt = gateway.charge(amount_cents, token)
    order = save_order(db, user.id, amount_cents, receipt["id"])
    await record_receipt(user.id, receipt)
    return {**receipt, "order_id": order.id}
