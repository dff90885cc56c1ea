from typing import Annotated

from fastapi import Depends, Header, HTTPException
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from shop.crud import get_order
from shop.database import get_db
from shop.models import Order, User

SessionDep = Annotated[Session, Depends(get_db)]


async def current_user(db: SessionDep, x_user_id: Annotated[int, Header()]) -> User:
    user = db.get(User, x_user_id)
    if user is None:
        raise HTTPException(status_code=401, detail="unknown user")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


async def user_order(order_id: int, db: SessionDep, user: CurrentUser) -> Order:
    order = await run_in_threadpool(get_order, db, user.id, order_id)
    if order is None:
        raise HTTPException(status_code=404, detail="no such order")
    return order


UserOrder = Annotated[Order, Depends(user_order)]
