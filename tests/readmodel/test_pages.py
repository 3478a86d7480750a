"""Pages made once and kept by value: the same bytes while nothing they depend on
changes, and a running job's duration written anew on every answer."""

from datetime import timedelta

import msgspec

from backupjobs.readmodel import EncodedPage, PageCache, RunningPage, render_page
from backupjobs.wire import modern_job_row, v3_job_row
from tests.jobs import NOW, seed_job


def key(revision, rendering=v3_job_row, **asked):
    """A page's key: customer 1, app "app", ``revision``, what was asked."""
    paging = {"job_type": None, "job_module": None, "offset": 0, "limit": 100, **asked}
    return (1, "app", revision, *paging.values(), rendering)


def kept(cache, page_key, states, now):
    """The page under ``page_key``, rendered from ``states`` if it is not kept yet."""
    found = cache.get(page_key)
    if found is None:
        found = cache.put(page_key, render_page(states, page_key[-1], now, total=len(states)))
    return found.at(now)


def test_encoded_rows_are_the_rows_and_a_running_job_keeps_counting():
    running = seed_job(job_id="RUN1", status=1, end_time=None)
    page = [seed_job(), running, seed_job(job_id=None, status=None, job_module=302)]
    later = NOW + timedelta(minutes=5, seconds=3)
    cache = PageCache()
    for row_of in (v3_job_row, modern_job_row):
        for now in (NOW, later, NOW, later):  # kept pages, asked again
            assert msgspec.json.decode(kept(cache, key(1, row_of), page, now).rows) == [
                msgspec.to_builtins(row_of(state, now)) for state in page
            ]
    first, second = (
        msgspec.json.decode(kept(cache, key(1), page, now).rows)[1]["jobDuration"]
        for now in (NOW, later)
    )
    assert (first, second) == ("20h38m43s", "20h43m46s")


def test_a_page_is_kept_by_value_until_what_it_depends_on_changes():
    cache = PageCache()
    page = [seed_job(), seed_job(job_module=302)]
    first = kept(cache, key(1), page, NOW)
    assert kept(cache, key(1), page, NOW) is first
    assert kept(cache, key(1, limit=1), page[:1], NOW) is not first  # asked otherwise
    changed = [seed_job(), seed_job(job_module=302, status=2)]
    assert msgspec.json.decode(kept(cache, key(2), changed, NOW).rows)[1]["status"] == 2
    running = [seed_job(), seed_job(job_module=302, status=1, end_time=None)]
    durations = {
        msgspec.json.decode(kept(cache, key(3), running, now).rows)[1]["jobDuration"]
        for now in (NOW, NOW + timedelta(seconds=1))
    }
    assert len(durations) == 2  # a running job's duration is written anew on every page


def test_a_page_with_running_jobs_is_the_rows_byte_for_byte_at_any_time():
    running = seed_job(job_id="RUN1", status=1, end_time=None, name='x","jobDuration":"1s')
    page = [
        running,
        seed_job(job_module=302),
        seed_job(job_id="RUN2", job_module=303, status=1, end_time=None),
        seed_job(job_id=None, status=None, job_module=305),
    ]
    for row_of in (v3_job_row, modern_job_row):
        rendered = render_page(page, row_of, NOW, total=9)
        assert isinstance(rendered, RunningPage)
        for now in (NOW, NOW + timedelta(seconds=1), NOW + timedelta(days=2, minutes=1)):
            expected = b"[" + b",".join(msgspec.json.encode(row_of(s, now)) for s in page) + b"]"
            answer = rendered.at(now)
            assert (bytes(answer.rows), answer.count, answer.total) == (expected, 4, 9)


def test_the_page_cache_is_bounded_by_bytes():
    pages = [render_page([seed_job(job_module=m)], v3_job_row, NOW, total=1) for m in (302, 303)]
    assert all(isinstance(page, EncodedPage) for page in pages)
    cache = PageCache(capacity=pages[0].size + pages[1].size - 1)
    cache.put(key(1), pages[0])
    cache.put(key(2), pages[1])
    assert cache.get(key(1)) is None and cache.get(key(2)) is pages[1]
    assert cache.weight == pages[1].size
