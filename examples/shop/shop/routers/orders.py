import subprocess

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict

from shop.crud import orders_for
from shop.deps import CurrentUser, SessionDep, UserOrder
from shop.services.invoices import find_invoice, render_pdf, write_invoice

router = APIRouter(prefix="/orders", tags=["orders"])
LABEL_PRINTER = ["lp", "-d", "warehouse-labels"]  # CUPS, on the packing station's print server


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    amount_cents: int
    charge_id: str


@router.get("/", response_model=list[OrderOut])
def list_orders(db: SessionDep, user: CurrentUser):
    return orders_for(db, user.id)


@router.get("/{order_id}", response_model=OrderOut)
async def order_detail(order: UserOrder):
    return order


@router.post("/{order_id}/invoice")
async def create_invoice(order: UserOrder):
    page = write_invoice(order)
    pdf = render_pdf(page)
    return {"invoice": pdf.name}


@router.get("/{order_id}/invoice")
async def download_invoice(order: UserOrder):
    pdf = find_invoice(order.id)
    if pdf is None:
        raise HTTPException(status_code=404, detail="no invoice yet")
    return FileResponse(pdf, media_type="application/pdf")


@router.post("/{order_id}/label")
async def print_label(order: UserOrder):
    label = f"ORDER {order.id}\nCHARGE {order.charge_id}\n"
    subprocess.run([*LABEL_PRINTER, "-t", f"order-{order.id}"], input=label, text=True, check=True)
    return {"printed": f"order-{order.id}"}
