"""Connectors of tests/e2e/test_custom.sh: every value type, a resource that fails part way, a
slow one to interrupt, one that counts, and one that needs a module of a virtualenv."""

import datetime
import decimal
import enum
import os
import time
import uuid

import nilus
from nilus import CustomSource


class Color(enum.Enum):
    RED = "red"


@nilus.resource(primary_key="id")
def typed():
    utc = datetime.timezone.utc
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    yield {
        "id": 1, "flag": True, "small": -7, "big": 2**70, "ratio": 0.1, "price": decimal.Decimal("12345.6789"),
        "name": "Zoë ✓", "raw": b"\x00\xffnilus", "day": datetime.date(2024, 2, 29),
        "clock": datetime.time(23, 59, 58, 123456), "naive": datetime.datetime(2024, 3, 1, 12, 30, 0, 500),
        "aware": datetime.datetime(2024, 3, 1, 14, 30, 0, tzinfo=plus2), "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "doc": {"k": [1, "two", None, {"three": 3.5}]}, "items": [1, 2, 3], "color": Color.RED, "nothing": None,
        "utc": datetime.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=utc),
    }


class TypesSource(CustomSource):
    def nilus_source(self, uri, table, **kwargs):
        return typed()


@nilus.resource(write_disposition="append")
def counted(total, fail_at, delay):
    state = nilus.current.resource_state()
    start = state.get("next", 1)
    try:
        for i in range(start, total + 1):
            if i == fail_at:
                raise ValueError(f"boom at row {i} with token {os.environ.get('API_TOKEN', '')}")
            # The state moves before the yield that hands the row over: nilus may stop between
            # any two yields (yield-limit) and commits the state as it stands then.
            state["next"] = i + 1
            yield {"id": i, "payload": "x" * 20, "at": datetime.datetime(2024, 1, 1) + datetime.timedelta(seconds=i)}
            if delay and i % 100 == 0:
                time.sleep(delay)
    finally:
        print(f"counted: generator closed at {state.get('next')}")


class CountingSource(CustomSource):
    """custom://CountingSource?total=N[&fail_at=I][&delay=SECONDS per 100 rows]: rows 1..N, resuming
    where the committed state says."""

    def handles_incrementality(self):
        return True

    def nilus_source(self, uri, table, **kwargs):
        from urllib.parse import parse_qs, urlparse

        q = {k: v[0] for k, v in parse_qs(urlparse(uri).query).items()}
        return counted(int(q["total"]), int(q.get("fail_at", 0)), float(q.get("delay", 0)))


class PlainSource(CustomSource):
    """Rows with an incremental key that nilus's cursor filters (handles_incrementality False)."""

    def nilus_source(self, uri, table, **kwargs):
        from urllib.parse import parse_qs, urlparse

        n = int(parse_qs(urlparse(uri).query)["n"][0])

        @nilus.resource(table_name="events")
        def events():
            yield [{"id": i, "version": i // 10} for i in range(1, n + 1)]

        return events()


class VenvSource(CustomSource):
    def nilus_source(self, uri, table, **kwargs):
        import extra_mod  # only in the test's virtualenv

        return [{"answer": extra_mod.ANSWER}]


class PendulumSource(CustomSource):
    """pendulum's datetimes (datetime subclasses) through nilus.common.pendulum."""

    def nilus_source(self, uri, table, **kwargs):
        from nilus.common import pendulum

        return [{"at": pendulum.datetime(2024, 5, 6, 7, 8, 9, tz="Europe/Paris"), "day": pendulum.date(2024, 1, 2)}]
