import asyncio
import json
import queue
from io import BytesIO
from pathlib import Path

from fastapi import APIRouter, BackgroundTasks, HTTPException, Response, UploadFile
from PIL import Image

from shop.deps import CurrentUser, SessionDep
from shop.models import Product
from shop.services import images
from shop.services.images import MEDIA_ROOT, make_thumbnail
from shop.services.stock import stock_level

router = APIRouter(prefix="/products", tags=["products"])
audit_log: queue.Queue[str] = queue.Queue()


@router.get("/")
async def list_products(db: SessionDep):
    return db.query(Product).order_by(Product.name).all()


@router.post("/{product_id}/image")
async def upload_image(
    product_id: int, file: UploadFile, user: CurrentUser, tasks: BackgroundTasks
):
    target = MEDIA_ROOT / f"{product_id}.png"
    target.write_bytes(file.file.read())
    thumbnail = await asyncio.to_thread(make_thumbnail, target)
    tasks.add_task(images.optimise, thumbnail)
    audit_log.put(f"{user.id} uploaded {target}")
    return {"thumbnail": thumbnail.name}


@router.get("/catalogue")
async def catalogue():
    with open(Path("catalogue.json")) as handle:
        return json.load(handle)


@router.get("/audit/next")
async def next_audit_entry():
    return {"entry": audit_log.get(timeout=5)}


@router.get("/{product_id}/image/{size}")
async def resized_image(product_id: int, size: int):
    source = MEDIA_ROOT / f"{product_id}.png"
    if not source.exists():
        raise HTTPException(status_code=404, detail="no image")
    with Image.open(source) as image:
        image.thumbnail((size, size))
        buffer = BytesIO()
        image.save(buffer, "WEBP")
    return Response(buffer.getvalue(), media_type="image/webp")


@router.get("/{product_id}/stock")
async def product_stock(product_id: int):
    return {"product_id": product_id, "available": stock_level(product_id)}
