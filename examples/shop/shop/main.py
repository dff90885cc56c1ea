import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request

from shop.database import engine
from shop.models import Base
from shop.routers import auth, checkout, orders, products, shipping


@asynccontextmanager
async def lifespan(app: FastAPI):
    Base.metadata.create_all(bind=engine)
    yield


app = FastAPI(title="shop", lifespan=lifespan)
app.include_router(auth.router)
app.include_router(products.router)
app.include_router(checkout.router)
app.include_router(orders.router)
app.include_router(shipping.router)


@app.middleware("http")
async def timing(request: Request, call_next):
    started = time.perf_counter()
    response = await call_next(request)
    response.headers["X-Elapsed"] = f"{time.perf_counter() - started:.4f}"
    return response


@app.get("/health")
async def health():
    time.sleep(0.1)
    return {"status": "ok"}
