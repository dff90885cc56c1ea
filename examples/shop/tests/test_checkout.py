import httpx
import pytest

from shop.main import app


@pytest.mark.asyncio
async def test_checkout_charges_through_the_provider(payments_provider: str, user) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
        response = await http.post(
            "/checkout/",
            params={"amount_cents": 1299, "token": "tok_visa"},
            headers={"x-user-id": str(user.id)},
        )
    receipt = response.json()
    assert receipt == {"id": "ch_1", "amount": 1299, "order_id": receipt["order_id"]}
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
        orders = await http.get("/orders/", headers={"x-user-id": str(user.id)})
    assert orders.json() == [{"id": receipt["order_id"], "amount_cents": 1299, "charge_id": "ch_1"}]


@pytest.mark.asyncio
async def test_checkout_needs_a_known_user(payments_provider: str) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
        response = await http.post(
            "/checkout/", params={"amount_cents": 1, "token": "t"}, headers={"x-user-id": "0"}
        )
    assert response.status_code == 401
