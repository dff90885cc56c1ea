import httpx
import requests
from fastapi import APIRouter

router = APIRouter(prefix="/shipping", tags=["shipping"])
CARRIER_URL = "https://api.carrier.example.com/v1"
# One client for the worker, made at import: it keeps connections to the carrier open, and its
# TLS set-up (reading the CA bundle) happens once, not on the event loop of every request.
carrier = httpx.AsyncClient(timeout=10)


@router.get("/quote")
async def shipping_quote(postcode: str, weight_grams: int):
    response = requests.get(
        f"{CARRIER_URL}/rates", params={"to": postcode, "grams": weight_grams}, timeout=10
    )
    response.raise_for_status()
    return response.json()


@router.get("/track/{tracking_number}")
async def track_parcel(tracking_number: str):
    response = await carrier.get(f"{CARRIER_URL}/parcels/{tracking_number}")
    response.raise_for_status()
    return response.json()
