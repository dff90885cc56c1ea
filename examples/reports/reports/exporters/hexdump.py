MEDIA_TYPE = "text/plain"


def render(data: bytes) -> bytes:
    return data[:4096].hex(" ", 16).encode()
