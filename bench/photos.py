"""What a photo costs: process_photo against a bare Pillow decode + re-encode, and a POST with a photo against
the same POST without one. Run: `python -m bench.photos` (prints a Markdown report)."""

from __future__ import annotations

import io
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import PIL
from PIL import Image

from open311 import create_app
from open311.intake.keys import create_key
from open311.media.photos import PhotoLimits, process_photo
from tests.images import gps_exif

ROUNDS = 5
ROOT = Path(__file__).resolve().parent.parent
FORM = {"service_code": "DPW-GRAFFITI", "lat": "34.0239", "long": "-118.1720", "attribute[surface_type]": "wall",
        "attribute[property_type]": "public", "description": "bench"}


def camera_jpeg(width: int, height: int) -> bytes:
    """A photo-like JPEG (smooth noise, quality 92) carrying GPS EXIF and a rotated orientation."""
    base = Image.effect_noise((width // 8, height // 8), 40).convert("RGB")
    out = io.BytesIO()
    base.resize((width, height), Image.Resampling.BICUBIC).save(out, "JPEG", quality=92, exif=gps_exif(6))
    return out.getvalue()


def bare(data: bytes) -> bytes:
    """The baseline: decode and re-encode with Pillow, nothing else (no bounds, orientation, sRGB, resize)."""
    out = io.BytesIO()
    image = Image.open(io.BytesIO(data))
    image.load()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def interleaved(a: Callable[[], Any], b: Callable[[], Any]) -> tuple[list[float], list[float]]:
    """ROUNDS rounds of A then B (one warm-up of each first)."""
    a(), b()
    times_a, times_b = [], []
    for _ in range(ROUNDS):
        times_a.append(timed(a))
        times_b.append(timed(b))
    return times_a, times_b


def row(label: str, times: list[float]) -> str:
    return f"| {label} | {statistics.median(times) * 1000:.0f} ms | {', '.join(f'{t * 1000:.0f}' for t in times)} |"


def ratio(label: str, a: list[float], b: list[float]) -> str:
    per_round = [x / y for x, y in zip(a, b, strict=True)]
    return f"| {label} | {statistics.median(per_round):.2f} | {', '.join(f'{r:.2f}' for r in per_round)} |"


def post_bench(photo: bytes) -> list[str]:
    """POST requests.json through the WSGI app (SQLite, local media store): with the photo, and without."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "OPEN311_CONFIG": str(ROOT / "jurisdictions.yaml"),
                          "OPEN311_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3", "OPEN311_CREATE_SCHEMA": True,
                          "OPEN311_DUPLICATE_WINDOW": 0, "OPEN311_RATELIMIT_ENABLED": "false",
                          "OPEN311_MEDIA_DIR": f"{tmp}/media"})
        gateway = app.extensions["open311"]
        with gateway.session() as session:
            _, key = create_key(session, "lacounty.gov", "bench", gateway.clock())
        client, headers = app.test_client(), {"Authorization": f"Bearer {key}"}

        def with_photo() -> None:
            reply = client.post("/open311/v2/requests.json", headers=headers, content_type="multipart/form-data",
                                data={**FORM, "media": (io.BytesIO(photo), "photo.jpg")})
            assert reply.status_code == 200, reply.data

        def without() -> None:
            reply = client.post("/open311/v2/requests.json", headers=headers, content_type="multipart/form-data",
                                data=FORM)
            assert reply.status_code == 200, reply.data

        a, b = interleaved(with_photo, without)
        gateway.dispose()
    return [row("C: POST with the 12 MP photo (multipart)", a), row("D: the same POST without a photo", b),
            ratio("C / D", a, b)]


def main() -> None:
    print("## Photos (bench/photos.py)\n")
    print(f"Python {platform.python_version()}, Pillow {PIL.__version__}, {platform.machine()}, "
          f"{ROUNDS} rounds interleaved, medians. Photos: smooth noise saved as JPEG quality 92 with GPS EXIF "
          "and orientation 6 (rotated), as phones send them.\n")
    print("| measure | median | all rounds (ms) |\n|---|---|---|")
    ratios = []
    for label, size in (("12 MP (4032x3024)", (4032, 3024)), ("48 MP (8000x6000)", (8000, 6000))):
        data = camera_jpeg(*size)
        a, b = interleaved(lambda d=data: process_photo(d, PhotoLimits()), lambda d=data: bare(d))
        print(row(f"A: process_photo, {label}, {len(data) / 1e6:.1f} MB", a))
        print(row(f"B: bare decode + re-encode, {label}", b))
        ratios.append(ratio(f"A / B, {label}", a, b))
    for line in post_bench(camera_jpeg(4032, 3024)):
        print(line)
    print("\n| ratio | median | per round |\n|---|---|---|")
    for line in ratios:
        print(line)


if __name__ == "__main__":
    main()
