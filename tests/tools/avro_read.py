"""Reads an Avro object container file with Debian's python3-avro (a reader nilus did not
write) and prints it as one JSON document: the codec, the header's own metadata and every
record, bytes as hex. Usage: /usr/bin/python3 avro_read.py FILE"""
import json
import sys

import avro.datafile
import avro.io


def plain(value):
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


with open(sys.argv[1], "rb") as f:
    reader = avro.datafile.DataFileReader(f, avro.io.DatumReader())
    meta = {k: v.decode() for k, v in reader.meta.items() if not k.startswith("avro.")}
    out = {"codec": reader.meta["avro.codec"].decode(), "meta": meta, "records": [plain(r) for r in reader]}
print(json.dumps(out))
