"""open311.media.photos and the upload helpers of open311.media.uploads: orientation, colour, modes, sizes, refusals."""

from __future__ import annotations

import base64
import io
import re

import pytest
from PIL import Image

from open311.errors import BadRequest
from open311.media.photos import Photo, PhotoError, PhotoLimits, describe, process_photo
from open311.media.uploads import Upload, decode_data_url, is_upload_field
from tests.images import assert_clean, gps_exif, jpeg_with_gps, picture

LIMITS = PhotoLimits()


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def opened(photo: Photo) -> Image.Image:
    image = Image.open(io.BytesIO(photo.data))
    image.load()
    return image


@pytest.mark.parametrize(("orientation", "size", "red_at"), [
    (1, (64, 48), (8, 24)), (3, (64, 48), (56, 24)), (6, (48, 64), (24, 8)), (8, (48, 64), (24, 56)),
    (2, (64, 48), (56, 24)), (5, (48, 64), (24, 8)),
])
def test_the_exif_orientation_is_applied_to_the_pixels(orientation: int, size: tuple[int, int],
                                                       red_at: tuple[int, int]) -> None:
    photo = process_photo(jpeg_with_gps(orientation=orientation), LIMITS)
    image = opened(photo).convert("RGB")
    assert image.size == size == (photo.width, photo.height)
    r, _, b = image.getpixel(red_at)  # the picture's red half, wherever the rotation put it
    assert r > 150 > b
    assert_clean(photo.data)


def test_modes_are_normalised_and_transparency_decides_png() -> None:
    cmyk = process_photo(encoded(picture(mode="CMYK"), "JPEG"), LIMITS)
    assert (cmyk.content_type, opened(cmyk).mode) == ("image/jpeg", "RGB")
    grey = process_photo(encoded(picture(mode="L"), "JPEG"), LIMITS)
    assert opened(grey).mode == "L"
    palette = picture().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    with_hole = palette.copy()
    with_hole.info["transparency"] = with_hole.getpixel((0, 0))
    assert opened(process_photo(encoded(with_hole, "PNG", transparency=with_hole.info["transparency"]),
                                LIMITS)).mode == "RGBA"
    assert opened(process_photo(encoded(palette, "PNG"), LIMITS)).mode == "RGB"
    opaque = process_photo(encoded(picture(mode="RGBA"), "PNG"), LIMITS)
    assert (opaque.content_type, opened(opaque).mode) == ("image/png", "RGB")
    clear = picture(mode="RGBA")
    clear.putalpha(128)
    webp = process_photo(encoded(clear, "WEBP", lossless=True), LIMITS)
    assert (webp.content_type, opened(webp).mode) == ("image/png", "RGBA")  # WebP with alpha: PNG, not JPEG
    deep = Image.new("I;16", (20, 10))
    deep.putpixel((0, 0), 65535)
    sixteen = opened(process_photo(encoded(deep, "PNG"), LIMITS))
    assert sixteen.mode == "L" and sixteen.getpixel((0, 0)) == 255 and sixteen.getpixel((1, 0)) == 0


def test_large_photos_are_scaled_down_to_the_longest_edge() -> None:
    small = PhotoLimits(max_edge=100)
    wide = process_photo(encoded(picture((1000, 40)), "PNG"), small)
    assert (wide.width, wide.height) == (100, 4)
    big = process_photo(encoded(picture((900, 600)), "JPEG"), small)  # decoded at 1/8 scale (113x75), then resized
    assert big.width == 100 and big.height in (66, 67)


def test_an_animation_keeps_its_first_frame_and_a_broken_profile_is_dropped() -> None:
    frames = [Image.new("RGB", (30, 20), colour) for colour in ((250, 0, 0), (0, 0, 250))]
    animated = encoded(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True, exif=gps_exif())
    first = opened(process_photo(animated, LIMITS)).convert("RGB")
    assert first.getpixel((5, 5))[0] > 200
    odd = process_photo(encoded(picture(), "JPEG", icc_profile=b"not a profile at all"), LIMITS)
    assert_clean(odd.data)


def test_pixels_are_counted_before_decoding_and_bytes_before_anything() -> None:
    tiny = PhotoLimits(max_bytes=2000, max_pixels=1000)
    with pytest.raises(PhotoError, match="declares 3072 \\(64x48\\) pixels, more than the 1000"):
        process_photo(encoded(picture(), "PNG"), tiny)
    with pytest.raises(PhotoError, match="more than the 2000 bytes allowed"):
        process_photo(b"\xff\xd8\xff" + bytes(2000), tiny)
    with pytest.raises(PhotoError, match="the file is empty"):
        process_photo(b"", tiny)


@pytest.mark.parametrize(("data", "said"), [
    (b"GIF89a\x01\x00", "a GIF image"), (b"\x00\x00\x00\x18ftypheic", "a HEIC/HEIF image"),
    (b"\x00\x00\x00\x18ftypisom", "a video or MP4 file"), (b'<?xml version="1.0"?><svg xmlns="x">', "an SVG drawing"),
    (b"  <!doctype html><p>", "HTML"), (b"<note/>", "XML or HTML"),
    (b"PK\x03\x04zip", "a ZIP archive (or office document)"),
    (b'{"a": 1}', "JSON or text"), (b"just words", "text"), (b"\x00\x01\x02", "unrecognised binary content"),
    (b"\xff\xfe\x00", "unrecognised binary content"),
])
def test_what_was_sent_instead_of_an_image_is_named(data: bytes, said: str) -> None:
    assert describe(data) == said
    with pytest.raises(PhotoError, match=re.escape(f"its content is {said}")):
        process_photo(data, LIMITS)


def test_data_urls() -> None:
    raw = jpeg_with_gps()
    text = base64.b64encode(raw).decode()
    wrapped = "\n".join(text[i:i + 76] for i in range(0, len(text), 76))
    for url in (f"data:image/jpeg;base64,{text}", f"DATA:image/jpeg;BASE64,{wrapped}",
                f"data:;base64,{text.replace('+', ' ')}", f"data:image/jpeg;base64,{text.replace('/', '%2F')}"):
        assert decode_data_url(url) == Upload("media_url", raw)
    for url, problem in (("data:image/jpeg;base64", "must look like"), ("data:image/png,rawbytes", "only base64"),
                         ("data:image/png;base64,!!!!", "malformed")):
        with pytest.raises(BadRequest, match=problem):
            decode_data_url(url)


def test_upload_field_names() -> None:
    assert all(map(is_upload_field, ("media", "media[]", "media[0]", "media[12]", "photo", "photo1", "photo12")))
    assert not any(map(is_upload_field, ("image", "media_url", "photo_1", "media[a]", "photo1234", "mediax")))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize(("size", "edge"), [((4624, 3472), 1000), ((4624, 3472), 2312), ((2100, 1000), 2099),
                                            ((1001, 999), 500), ((999, 1001), 1000), ((800, 600), 800)])
def test_the_longest_side_stored_is_exactly_the_smaller_of_the_original_and_the_bound(
        fmt: str, size: tuple[int, int], edge: int) -> None:
    photo = process_photo(encoded(picture(size), fmt), PhotoLimits(max_edge=edge))
    longest = min(max(size), edge)
    expected = tuple(round(side * longest / max(size)) for side in size)
    assert (photo.width, photo.height) == opened(photo).size == expected
