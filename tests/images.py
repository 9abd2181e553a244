"""Images made in the tests (never committed binaries): photos carrying GPS and other metadata, bombs, fakes,
and a reader that reports every kind of metadata an image file still holds."""

from __future__ import annotations

import io
import struct
import zlib
from functools import cache
from typing import Any

from PIL import ExifTags, Image, ImageCms, PngImagePlugin

HOME = "Home of the resident, 1234 Elm St"  # a text that must never survive processing
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="34,1.434N" '
       b'exif:GPSLongitude="118,10.32W"/></rdf:RDF></x:xmpmeta>')


def gps_exif(orientation: int = 1) -> Image.Exif:
    """EXIF with a camera, an owner, an orientation and a GPS position (LA County)."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    exif[ExifTags.Base.Model] = "Phone 15"
    exif[ExifTags.Base.Artist] = HOME
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (34.0, 1.0, 26.04)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (118.0, 10.0, 19.2)
    return exif


def picture(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> Image.Image:
    """A picture with a red left half and a blue right half (orientation is visible in the pixels)."""
    image = Image.new("RGB", size, (20, 40, 220))
    image.paste((220, 30, 30), (0, 0, size[0] // 2, size[1]))
    return image.convert(mode)


def jpeg_with_gps(size: tuple[int, int] = (64, 48), orientation: int = 1) -> bytes:
    """A JPEG carrying GPS EXIF, XMP with GPS, a comment and an sRGB ICC profile."""
    out = io.BytesIO()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    picture(size).save(out, "JPEG", exif=gps_exif(orientation), xmp=XMP, comment=HOME.encode(), icc_profile=icc)
    return out.getvalue()


def png_with_text(size: tuple[int, int] = (40, 30)) -> bytes:
    """A PNG with tEXt, zTXt and iTXt chunks (one holding GPS) and an eXIf chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", HOME)
    info.add_text("Author", HOME, zip=True)
    info.add_itxt("GPS", "34.0239,-118.172", lang="en")
    out = io.BytesIO()
    picture(size).save(out, "PNG", pnginfo=info, exif=gps_exif())
    return out.getvalue()


def webp_with_exif(size: tuple[int, int] = (48, 32)) -> bytes:
    """A WebP carrying GPS EXIF and XMP."""
    out = io.BytesIO()
    picture(size).save(out, "WEBP", exif=gps_exif(), xmp=XMP, quality=90)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@cache
def png_bomb(side: int = 30_000) -> bytes:
    """A real decompression bomb: a 1-bit PNG of side x side black pixels whose compressed size is tiny."""
    row = b"\x00" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a size and whose pixel data is garbage (decoding it would fail)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"not zlib") + _chunk(b"IEND", b"")


@cache
def truncated_jpeg() -> bytes:
    """A JPEG cut off in the middle of its pixel data."""
    out = io.BytesIO()
    Image.effect_noise((256, 256), 60).convert("RGB").save(out, "JPEG", quality=95)
    data = out.getvalue()
    return data[: len(data) // 2]


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def metadata_of(data: bytes) -> dict[str, Any]:
    """Everything but pixels that an image file holds: EXIF (and its GPS block), XMP, ICC, comments, text chunks,
    and any of the test's marker strings in the raw bytes."""
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    found: dict[str, Any] = {
        "format": image.format,
        "exif": dict(exif),
        "gps": dict(exif.get_ifd(ExifTags.IFD.GPSInfo)),
        "info": {k: v for k, v in image.info.items() if k not in ("jfif", "jfif_version", "jfif_unit",
                                                                   "jfif_density", "dpi", "progressive",
                                                                   "progression", "loop", "background")},
        "text": dict(getattr(image, "text", {}) or {}),
    }
    found["markers"] = [m for m in (b"TestCam", b"Exif", b"GPS", b"xmpmeta", HOME.encode(), b"Elm St")
                        if m in data]
    return found


def assert_clean(data: bytes) -> None:
    """The image holds no EXIF, GPS, XMP, ICC, comment or text chunk, and none of the markers."""
    found = metadata_of(data)
    assert found["exif"] == {} and found["gps"] == {}, found
    assert found["info"] == {} and found["text"] == {}, found
    assert found["markers"] == [], found


def photo_bytes(size: tuple[int, int], fmt: str, orientation: int = 1) -> bytes:
    """A camera-sized photo in `fmt` (JPEG, PNG, WEBP) with GPS EXIF carrying `orientation`."""
    out = io.BytesIO()
    picture(size).save(out, fmt, exif=gps_exif(orientation), **({"quality": 90} if fmt != "PNG" else {}))
    return out.getvalue()
