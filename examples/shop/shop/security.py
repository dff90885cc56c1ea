import time

from passlib.context import CryptContext
from sqlalchemy.orm import Session

from shop.models import User

pwd_context = CryptContext(schemes=["bcrypt"], deprecated="auto")
FAILED_LOGIN_DELAY = 1.0  # seconds: makes guessing passwords slow


def hash_password(password: str) -> str:
    return pwd_context.hash(password)


def verify_password(plain: str, hashed: str) -> bool:
    return pwd_context.verify(plain, hashed)


def authenticate_user(db: Session, email: str, password: str) -> User | None:
    user = db.query(User).filter(User.email == email).first()
    if user is None or not verify_password(password, user.hashed_password):
        return None
    return user


def slow_down_failed_login() -> None:
    time.sleep(FAILED_LOGIN_DELAY)
