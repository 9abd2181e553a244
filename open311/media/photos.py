"""Turning one uploaded image into a clean photo: checked by content, bounded, upright, stripped, re-encoded.

Nothing of the upload but its pixels survives: the output is a new image (no EXIF, GPS, XMP, IPTC, comments,
text chunks or colour profile; an embedded profile is first applied, converting the pixels to sRGB),
encoded by us. The original bytes are never written anywhere.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import struct
import warnings
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

log = logging.getLogger(__name__)
ACCEPTED = "JPEG, PNG or WebP"
# EXIF orientation -> the transposition that makes the pixels upright (EXIF 2.3, tag 0x0112).
ORIENTATIONS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
                5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                8: Image.Transpose.ROTATE_90}
JPEG_QUALITY = 85
# Magic bytes of what people upload by mistake (or on purpose), to say what was sent instead of an image.
OTHER_CONTENT = (
    (b"%PDF", "a PDF document"), (b"GIF8", "a GIF image"), (b"BM", "a BMP image"), (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"), (b"PK\x03\x04", "a ZIP archive (or office document)"), (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"), (b"\x1f\x8b", "a gzip archive"), (b"\x00\x00\x01\x00", "an icon file"),
)


class PhotoError(ValueError):
    """The upload is not an acceptable image; the message says why (without naming the part)."""


@dataclass(frozen=True)
class PhotoLimits:
    """Bounds on one photo: bytes as uploaded, pixels as declared, and the longest side stored."""

    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_edge: int = 4096


@dataclass(frozen=True)
class Photo:
    """A processed photo, ready to store: re-encoded bytes with no metadata."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the stored bytes (ETag, integrity checks by back offices)."""
        return hashlib.sha256(self.data).hexdigest()


def sniff(data: bytes) -> str | None:
    """The Pillow format of an accepted image by its first bytes (JPEG, PNG, WEBP), else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def describe(data: bytes) -> str:
    """What a refused upload looks like, in words (for the error message)."""
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        return "a HEIC/HEIF image" if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc") else "a video or MP4 file"
    for magic, name in OTHER_CONTENT:
        if data.startswith(magic):
            return name
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<"):
        if b"<svg" in head:
            return "an SVG drawing"
        return "HTML" if b"<html" in head or b"<!doctype html" in head or b"<script" in head else "XML or HTML"
    if head[:1] in (b"{", b"["):
        return "JSON or text"
    try:
        text = data[:512].decode("utf-8")
    except UnicodeDecodeError:
        return "unrecognised binary content"
    return "text" if all(c.isprintable() or c.isspace() for c in text) else "unrecognised binary content"


def _open(data: bytes, kind: str, limits: PhotoLimits) -> Image.Image:
    """Read the header only and refuse oversized images before a single pixel is decoded."""
    try:
        image = Image.open(io.BytesIO(data), formats=[kind])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:  # Pillow's own guard
        declared = re.search(r"\((\d+) pixels\)", str(exc))
        raise PhotoError(_too_many(declared.group(1) if declared else "more", limits)) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise PhotoError(f"the file starts like a {kind} image but cannot be read; it is corrupt") from None
    width, height = image.size
    if width < 1 or height < 1:
        raise PhotoError("the image has no pixels")
    if width * height > limits.max_pixels:
        raise PhotoError(_too_many(f"{width * height} ({width}x{height})", limits))
    return image


def _too_many(declared: str, limits: PhotoLimits) -> str:
    """The message for an image declaring more pixels than allowed."""
    return (f"the image declares {declared} pixels, more than the {limits.max_pixels} allowed: refused unread "
            "as a possible decompression bomb; send a smaller photo")


def _decode(image: Image.Image, kind: str, target: tuple[int, int] | None) -> Image.Image:
    """Decode the pixels; a JPEG larger than `target` (the stored size) straight at a reduced scale.

    The DCT scale (1/2, 1/4, 1/8) is the smallest that still leaves at least `target` on both sides, so
    the resize that follows only ever shrinks: a 4624x3472 photo is decoded full size and resized to
    4096x3072, never decoded at half size (2312x1736) and kept so.
    """
    try:
        if kind == "JPEG" and target is not None:
            image.draft(None, target)
        image.seek(0)  # the first frame of an animation is the photo
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        raise PhotoError("the image is truncated or corrupt (its pixels cannot be decoded)") from None
    return image


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1: upright), read by hand rather than with ImageOps.exif_transpose, which
    re-serialises the EXIF (GPS included) and so passes it through Pillow's debug logging."""
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
    except (OSError, ValueError, SyntaxError, KeyError, TypeError, struct.error):
        return 1  # an unreadable EXIF block: no orientation to apply (and it is dropped anyway)
    return orientation if isinstance(orientation, int) else 1


def _fitted(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """`size` scaled so its longest side is `edge`, keeping the aspect ratio."""
    width, height = size
    scale = edge / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _upright(image: Image.Image, orientation: int) -> Image.Image:
    """Apply an EXIF orientation to the pixels."""
    method = ORIENTATIONS.get(orientation)
    return image.transpose(method) if method is not None else image


def _to_srgb(image: Image.Image) -> Image.Image:
    """Apply an embedded ICC profile (convert the pixels to sRGB), so dropping the profile keeps the colours."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # an unreadable profile is simply dropped: the pixels stay as they are
    return converted if converted is not None else image


def _has_alpha(image: Image.Image) -> bool:
    """True when the image has transparency worth keeping."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        low, _ = image.convert("RGBA").getchannel("A").getextrema()
        return isinstance(low, int | float) and low < 255
    return False


def _normalise(image: Image.Image) -> Image.Image:
    """Pixels in a mode our encoders take: L or RGB, or RGBA / LA when transparency matters."""
    alpha = _has_alpha(image)
    try:
        if image.mode in ("L", "RGB") or (alpha and image.mode in ("RGBA", "LA")):
            return image
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            return image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
        return image.convert("RGBA" if alpha else ("L" if image.mode in ("1", "LA") else "RGB"))
    except (OSError, ValueError) as exc:
        raise PhotoError(f"its pixel format ({image.mode}) cannot be converted") from exc


def _fresh(image: Image.Image) -> Image.Image:
    """A new image holding only the pixels: no info, EXIF, XMP, comments, text chunks or profile can follow."""
    clean = Image.new(image.mode, image.size, None)  # None: not initialised, the paste fills every pixel
    clean.paste(image)
    return clean


def process_photo(data: bytes, limits: PhotoLimits) -> Photo:
    """Check an upload by its content and bounds and return it upright, metadata-free and re-encoded.

    JPEG and WebP photos are stored as JPEG (what every mail client and back office shows), PNG as PNG;
    a photo with real transparency is stored as PNG. Raises PhotoError saying what is wrong.
    """
    try:
        return _process(data, limits)
    except PhotoError:
        raise
    except MemoryError:
        raise PhotoError("the image is too large to process; send a smaller photo") from None
    except Exception as exc:  # a decoder fed hostile bytes may fail in any way; it is the upload's fault
        # The class only (never the message: no upload content in logs), so a bug of ours is still visible.
        log.warning("photo refused: decoder raised %s", type(exc).__name__)
        raise PhotoError("the image is corrupt (it cannot be decoded)") from None


def _process(data: bytes, limits: PhotoLimits) -> Photo:
    """process_photo's steps, raising PhotoError for what it recognises."""
    if not data:
        raise PhotoError("the file is empty")
    if len(data) > limits.max_bytes:
        raise PhotoError(f"it is {len(data)} bytes, more than the {limits.max_bytes} bytes allowed per photo")
    kind = sniff(data)
    if kind is None:
        raise PhotoError(f"it is not a {ACCEPTED} image: its content is {describe(data)}")
    image = _open(data, kind, limits)
    # The stored size comes from the size as sent (not as decoded): the longest side min(original, max_edge).
    target = _fitted(image.size, limits.max_edge) if max(image.size) > limits.max_edge else None
    image = _decode(image, kind, target)
    orientation = _orientation(image)  # read before resizing: the EXIF goes nowhere after this
    if target is not None and image.size != target:  # scaled down first: rotating fewer pixels is cheaper
        image = image.resize(target, Image.Resampling.BICUBIC, reducing_gap=3.0)
    pixels = _normalise(_to_srgb(_upright(image, orientation)))
    clean = _fresh(pixels)
    out = io.BytesIO()
    if kind == "PNG" or clean.mode in ("RGBA", "LA"):
        clean.save(out, "PNG", compress_level=6)
        return Photo(out.getvalue(), "image/png", "png", *clean.size)
    clean.save(out, "JPEG", quality=JPEG_QUALITY)
    return Photo(out.getvalue(), "image/jpeg", "jpg", *clean.size)


def configure_pillow(limits: PhotoLimits) -> None:
    """Set Pillow's own decompression-bomb guard to our pixel cap and keep its debug logging quiet (process-wide).

    Pillow refuses images above twice the cap itself and only warns between once and twice; every image it
    warns about is above our cap and refused by our check with a clearer message, so that warning is muted.
    """
    Image.MAX_IMAGE_PIXELS = limits.max_pixels
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    # Pillow's debug lines quote EXIF tags (GPS, owner names): never let them through, whatever the root level.
    pil = logging.getLogger("PIL")
    if pil.level < logging.INFO:  # NOTSET (0) too: it would inherit a DEBUG root
        pil.setLevel(logging.INFO)
