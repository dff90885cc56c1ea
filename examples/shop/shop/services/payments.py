import time

import requests

PAYMENTS_URL = "https://payments.example.com/v1/charges"


class PaymentGateway:
    def __init__(self, api_key: str) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def charge(self, amount_cents: int, token: str) -> dict:
        for attempt in range(3):
            response = self.session.post(
                PAYMENTS_URL, json={"amount": amount_cents, "source": token}, timeout=10
            )
            if response.status_code != 503:
                return response.json()
            time.sleep(2**attempt)
        raise RuntimeError("payment provider unavailable")


gateway = PaymentGateway(api_key="test-key")
