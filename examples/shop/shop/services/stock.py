"""Stock levels come from the warehouse's API, which allows two concurrent requests per client:
its calls go through a pool of two threads."""

from concurrent.futures import ThreadPoolExecutor

import requests

WAREHOUSE_URL = "https://warehouse.example.com/v2"

warehouse = requests.Session()
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="warehouse")


def _fetch_level(product_id: int) -> int:
    response = warehouse.get(f"{WAREHOUSE_URL}/stock/{product_id}", timeout=10)
    response.raise_for_status()
    return int(response.json()["available"])


def stock_level(product_id: int) -> int:
    return _pool.submit(_fetch_level, product_id).result(timeout=15)
