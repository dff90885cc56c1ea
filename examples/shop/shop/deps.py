from typing import Annotated

from fastapi import Depends, Header, HTTPException
from sqlalchemy.orm import Session

from shop.database import get_db
from shop.models import User

SessionDep = Annotated[Session, Depends(get_db)]


async def current_user(db: SessionDep, x_user_id: Annotated[int, Header()]) -> User:
    user = db.get(User, x_user_id)
    if user is None:
        raise HTTPException(status_code=401, detail="unknown user")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
