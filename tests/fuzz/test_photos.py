"""Hypothesis over the photo decoder: corrupted and cut JPEG, PNG and WebP files are refused with PhotoError or come
out clean; nothing else ever escapes (an escape would be a 500 for a resident's upload)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from open311.media.photos import PhotoError, PhotoLimits, process_photo
from tests.fuzz.tally import CASES, EXAMPLES, FUZZ
from tests.images import assert_clean, jpeg_with_gps, png_with_text, webp_with_exif

SEEDS = {"jpeg": jpeg_with_gps(), "png": png_with_text(), "webp": webp_with_exif()}
LIMITS = PhotoLimits(max_bytes=1 << 20, max_pixels=1 << 22, max_edge=512)


@settings(FUZZ, max_examples=EXAMPLES * 5)
@given(seed=st.sampled_from(sorted(SEEDS)), cut=st.integers(min_value=0, max_value=4000),
       flips=st.lists(st.tuples(st.integers(min_value=0, max_value=4000), st.integers(min_value=0, max_value=255)),
                      max_size=8))
def test_a_damaged_image_is_refused_or_comes_out_clean(seed: str, cut: int, flips: list[tuple[int, int]]) -> None:
    data = bytearray(SEEDS[seed])
    for position, value in flips:
        data[position % len(data)] = value
    damaged = bytes(data[: max(cut, 1)] if cut < len(data) else data)
    CASES["hypothesis photo decoder"] += 1
    try:
        photo = process_photo(damaged, LIMITS)
    except PhotoError as refused:
        assert str(refused)
        return
    assert_clean(photo.data)
