import httpx
import pytest

from shop.main import app


def test_quote_asks_the_carrier(client, carrier: str) -> None:
    response = client.get("/shipping/quote", params={"postcode": "10115", "weight_grams": 1200})
    assert response.json() == {"service": "standard", "price_cents": 495}


@pytest.mark.asyncio
async def test_tracking_awaits_the_carrier(carrier: str) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://shop") as http:
        response = await http.get("/shipping/track/1Z999")
    assert response.json() == {"parcel": "1Z999", "status": "in transit"}
