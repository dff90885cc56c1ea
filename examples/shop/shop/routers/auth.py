from fastapi import APIRouter, HTTPException
from pydantic import BaseModel

from shop.deps import SessionDep
from shop.models import User
from shop.security import authenticate_user, hash_password, slow_down_failed_login

router = APIRouter(prefix="/auth", tags=["auth"])


class Credentials(BaseModel):
    email: str
    password: str


@router.post("/register")
async def register(credentials: Credentials, db: SessionDep):
    user = User(email=credentials.email, hashed_password=hash_password(credentials.password))
    db.add(user)
    db.commit()
    return {"id": user.id}


@router.post("/token")
async def login(credentials: Credentials, db: SessionDep):
    user = authenticate_user(db, credentials.email, credentials.password)
    if user is None:
        slow_down_failed_login()
        raise HTTPException(status_code=400, detail="bad credentials")
    return {"access_token": str(user.id)}


@router.post("/register-threaded")
def register_threaded(credentials: Credentials, db: SessionDep):
    user = User(email=credentials.email, hashed_password=hash_password(credentials.password))
    db.add(user)
    db.commit()
    return {"id": user.id}
