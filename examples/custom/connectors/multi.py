"""Two resources in one source, each landing in its own table with its own strategy: `users`
replaced at every run, `activities` appended."""

import os
from urllib.parse import parse_qs, urlparse

import requests

import nilus
from nilus import CustomSource


def fetch(base_url, path):
    response = requests.get(f"{base_url}/{path}", headers={"Authorization": f"Bearer {os.environ['API_TOKEN']}"},
                            params={"per_page": 1000}, timeout=30)
    response.raise_for_status()
    return response.json()["data"]


@nilus.source
def crm(base_url):
    @nilus.resource(write_disposition="replace", primary_key="id")
    def users():
        yield fetch(base_url, "users")

    @nilus.resource(write_disposition="append")
    def activities():
        yield from fetch(base_url, "activities")

    return users(), activities()


class CrmSource(CustomSource):
    def nilus_source(self, uri: str, table: str, **kwargs):
        params = {k: v[0] for k, v in parse_qs(urlparse(uri).query).items()}
        return crm(params["base_url"])
