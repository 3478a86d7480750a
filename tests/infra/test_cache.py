"""The bounded cache: at most its capacity in weight, the oldest entry put going first."""

from backupjobs.infra.cache import BoundedCache


def test_entries_past_the_capacity_go_oldest_first():
    cache = BoundedCache[str, int](capacity=3)
    for number, name in enumerate("abcd"):
        cache.put(name, number)
    assert [cache.get(name) for name in "abcd"] == [None, 1, 2, 3]
    assert (len(cache), cache.weight) == (3, 3)
    assert cache.get("b") == 1  # a hit does not make it newer: it still goes next
    cache.put("e", 4)
    assert "b" not in cache and "c" in cache


def test_a_key_put_again_is_the_newest_and_counted_once():
    cache = BoundedCache[str, int](capacity=2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (10, None, 3)
    assert cache.weight == 2


def test_weighed_entries_bound_the_weight():
    cache = BoundedCache[str, bytes](capacity=10, weigh=len)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    cache.put("c", b"90")
    assert cache.weight == 10
    cache.put("d", b"x")
    assert (cache.get("a"), cache.weight) == (None, 7)
    cache.put("e", b"y" * 20)  # heavier than the capacity: kept alone
    assert (len(cache), cache.weight) == (1, 20)


def test_pop_and_clear_forget():
    cache = BoundedCache[str, bytes](capacity=10, weigh=len)
    cache.put("a", b"123")
    cache.put("b", b"45")
    assert cache.pop("a") == b"123" and cache.pop("a") is None
    assert cache.weight == 2
    cache.clear()
    assert (len(cache), cache.weight, cache.get("b")) == (0, 0, None)
    cache.put("c", b"6")
    assert cache.get("c") == b"6"  # get still reads the entries after clear()
