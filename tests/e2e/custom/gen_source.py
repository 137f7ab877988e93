"""The generator of bench/custom.sh and of the throughput check: n simple rows, one dict each."""

import nilus
from nilus import CustomSource


def rows(n):
    for i in range(n):
        yield {"id": i, "name": "customer", "amount": i * 0.5, "active": True, "region": "eu-west"}


class GenSource(CustomSource):
    def nilus_source(self, uri, table, **kwargs):
        from urllib.parse import parse_qs, urlparse

        n = int(parse_qs(urlparse(uri).query)["n"][0])
        return nilus.resource(table_name="gen")(rows)(n)
