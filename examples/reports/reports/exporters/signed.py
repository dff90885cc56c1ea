import hashlib
import hmac

MEDIA_TYPE = "application/octet-stream"
ITERATIONS = 400_000


def render(data: bytes) -> bytes:
    key = hashlib.pbkdf2_hmac("sha256", b"export-secret", data[:16], ITERATIONS)
    return hmac.new(key, data, "sha256").digest() + data[:4096]
