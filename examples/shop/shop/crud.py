"""Queries on the shop's tables, shared by the routers."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.models import Order


def save_order(db: Session, user_id: int, amount_cents: int, charge_id: str) -> Order:
    order = Order(user_id=user_id, amount_cents=amount_cents, charge_id=charge_id)
    db.add(order)
    db.commit()
    db.refresh(order)
    return order


def orders_for(db: Session, user_id: int) -> list[Order]:
    return list(db.scalars(select(Order).where(Order.user_id == user_id).order_by(Order.id)))


def get_order(db: Session, user_id: int, order_id: int) -> Order | None:
    order = db.get(Order, order_id)
    if order is None or order.user_id != user_id:
        return None
    return order
