"""A database outage is logged when it starts, summed up every 30 s, and when it ends:
never once per refused request."""

import asyncio

import pytest

from backupjobs.api.outage import OutageLog


class Lines:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict]] = []

    def warning(self, event, **fields):
        self.lines.append(("warning", event, fields))

    def info(self, event, **fields):
        self.lines.append(("info", event, fields))

    def events(self) -> list[str]:
        return [event for _, event, _ in self.lines]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_outage_is_three_kinds_of_line_not_one_per_request():
    lines, clock = Lines(), Clock()
    database_up = asyncio.Event()

    async def probe() -> None:
        if not database_up.is_set():
            raise ConnectionRefusedError

    outage = OutageLog(probe, log=lines, clock=clock, probe_seconds=0.01)
    # 4,000 refusals over 65 s: the start, and a summary at 30 s and at 60 s.
    for number in range(4000):
        clock.now = 1000.0 + number * 65 / 4000
        outage.refused(ConnectionRefusedError())
    assert lines.events() == [
        "database unavailable: requests that need it answer 503 until it is back",
        "database still unavailable",
        "database still unavailable",
    ]
    assert outage.unavailable
    database_up.set()
    for _ in range(100):
        await asyncio.sleep(0.01)
        if not outage.unavailable:
            break
    assert lines.events()[-1] == "database available again"
    assert lines.lines[-1][2]["refused"] == 4000
    # The next outage is logged again.
    database_up.clear()
    outage.refused(ConnectionRefusedError())
    assert lines.events()[-1].startswith("database unavailable")
    await outage.close()


@pytest.mark.parametrize("refusals", [1, 2])
async def test_summaries_count_the_refusals_since_the_last(refusals):
    lines, clock = Lines(), Clock()

    async def down() -> None:
        raise ConnectionRefusedError

    outage = OutageLog(down, log=lines, clock=clock, probe_seconds=10)
    for _ in range(refusals):
        outage.refused(TimeoutError())
    clock.now += 31
    outage.refused(TimeoutError())
    assert lines.lines[-1][1] == "database still unavailable"
    assert lines.lines[-1][2]["refused"] == refusals
    await outage.close()
