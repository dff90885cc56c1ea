import subprocess
from pathlib import Path

from PIL import Image

MEDIA_ROOT = Path("media")


def make_thumbnail(source: Path) -> Path:
    target = source.with_suffix(".thumb.png")
    with Image.open(source) as image:
        image.thumbnail((256, 256))
        image.save(target)
    return target


def optimise(path: Path) -> None:
    subprocess.run(["optipng", "-quiet", str(path)], check=True)
