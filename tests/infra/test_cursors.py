"""Cursors: opaque, tamper-evident, and valid only for the list they were made for."""

import base64
import doctest
from datetime import UTC, datetime

import pytest

from backupjobs.infra import cursors
from backupjobs.infra.cursors import CursorCodec, InvalidCursorError, binding

KEY = b"k" * 32
BOUND = binding("jobs", {"app": "client-1", "status": [3, 7]})


def test_the_module_examples_hold():
    failures, attempted = doctest.testmod(cursors, optionflags=doctest.ELLIPSIS)
    assert attempted and not failures


def test_a_cursor_gives_back_its_position_typed():
    codec = CursorCodec(KEY)
    when = datetime(2025, 9, 11, 3, 21, 16, 800000, tzinfo=UTC)
    token = codec.encode([when, "FB1"], binding=BOUND)
    assert codec.decode(token, binding=BOUND, type=tuple[datetime, str]) == (when, "FB1")
    assert "=" not in token and "/" not in token and "+" not in token  # URL-safe as it is


def test_the_order_of_repeated_filter_values_does_not_matter():
    assert binding("jobs", {"status": [7, 3]}) == binding("jobs", {"status": [3, 7]})
    assert binding("jobs", {"status": [3]}) != binding("jobs", {"status": [3, 7]})
    assert binding("jobs", {"q": None}) == binding("jobs", {})


@pytest.mark.parametrize(
    "other",
    [
        binding("jobs", {"app": "client-1", "status": [3]}),
        binding("jobs", {"app": "client-2", "status": [3, 7]}),
        binding("services", {"app": "client-1", "status": [3, 7]}),
    ],
)
def test_a_cursor_used_with_other_filters_is_refused(other):
    codec = CursorCodec(KEY)
    token = codec.encode([1, "a"], binding=BOUND)
    with pytest.raises(InvalidCursorError, match="other filters"):
        codec.decode(token, binding=other, type=tuple[int, str])


def test_every_altered_byte_is_noticed():
    codec = CursorCodec(KEY)
    token = codec.encode([1234, "FB20250911"], binding=BOUND)
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for index in range(len(raw)):
        altered = bytearray(raw)
        altered[index] ^= 0x01
        text = base64.urlsafe_b64encode(bytes(altered)).rstrip(b"=").decode()
        with pytest.raises(InvalidCursorError):
            codec.decode(text, binding=BOUND, type=tuple[int, str])


def test_another_deployment_s_cursor_is_refused():
    token = CursorCodec(b"a" * 32).encode([1], binding=BOUND)
    with pytest.raises(InvalidCursorError):
        CursorCodec(b"b" * 32).decode(token, binding=BOUND, type=tuple[int])


@pytest.mark.parametrize("text", ["", "!!!", "abc", "a" * 2000, "é"])
def test_what_is_not_a_cursor_is_refused_with_a_reason(text):
    with pytest.raises(InvalidCursorError):
        CursorCodec(KEY).decode(text, binding=BOUND, type=tuple[int])


def test_a_signed_position_of_another_shape_is_refused_not_crashed_on():
    codec = CursorCodec(KEY)
    token = codec.encode(["not a time"], binding=BOUND)
    with pytest.raises(InvalidCursorError, match="another version"):
        codec.decode(token, binding=BOUND, type=tuple[datetime, str])


def test_a_short_key_is_refused():
    with pytest.raises(ValueError, match="16 bytes"):
        CursorCodec(b"short")
