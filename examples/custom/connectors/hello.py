import nilus
from nilus import CustomSource


@nilus.resource(primary_key="id", write_disposition="merge")
def greetings(count):
    for i in range(1, count + 1):
        yield {"id": i, "greeting": f"hello {i}"}


class HelloSource(CustomSource):
    def nilus_source(self, uri, table, **kwargs):
        return greetings(int(uri.partition("count=")[2] or 3))
