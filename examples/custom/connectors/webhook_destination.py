"""A webhook as a custom destination: each batch of rows is POSTed as JSON.

    sink.address: custom://WebhookDestination?url=http://127.0.0.1:8765/webhook
"""

import datetime
import decimal
import json
import uuid
from urllib.parse import parse_qs, urlparse

import requests

import nilus
from nilus import CustomDestination


def to_json(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


class WebhookDestination(CustomDestination):
    def nilus_dest(self, uri: str, **kwargs):
        url = parse_qs(urlparse(uri).query)["url"][0]
        session = requests.Session()

        @nilus.destination
        def post_batch(items, table):
            body = json.dumps({"table": table["name"], "load_id": table["load_id"], "data": items}, default=to_json)
            response = session.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
            response.raise_for_status()  # 429 and 5xx: nilus retries the load

        return post_batch

    def nilus_run_params(self, uri: str, table: str, **kwargs):
        schema, _, name = table.rpartition(".")
        return {"dataset_name": schema or "default", "table_name": name}

    def post_load(self) -> None:
        print("webhook: every batch delivered")
