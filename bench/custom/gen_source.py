"""The source of bench/custom.sh: the rows of gen_rows.py as a custom source."""

from urllib.parse import parse_qs, urlparse

import nilus
from gen_rows import rows
from nilus import CustomSource


class GenSource(CustomSource):
    def nilus_source(self, uri, table, **kwargs):
        n = int(parse_qs(urlparse(uri).query)["n"][0])
        return nilus.resource(table_name="gen")(rows)(n)
