"""Reads an Iceberg table along the specification's read path, with readers nilus did not
write: the SQL catalog (sqlite3) gives the metadata file, its JSON the current snapshot, whose
manifest list and manifests (python3-avro) give the data files. Prints one JSON document: the
current schema, the snapshots, the current snapshot's operation and summary, and its data files
with their record counts. Usage: /usr/bin/python3 iceberg_read.py CATALOG.db NAMESPACE TABLE"""
import json
import sqlite3
import sys

import avro.datafile
import avro.io


def avro_records(path):
    with open(path, "rb") as f:
        reader = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        meta = {k: v.decode() for k, v in reader.meta.items() if not k.startswith("avro.")}
        return meta, list(reader)


catalog, namespace, table = sys.argv[1:4]
row = sqlite3.connect(catalog).execute(
    "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = 'nilus' AND table_namespace = ? "
    "AND table_name = ?", (namespace, table)).fetchone()
if row is None:
    print(json.dumps({"exists": False}))
    sys.exit(0)
with open(row[0]) as f:
    metadata = json.load(f)
schema = next(s for s in metadata["schemas"] if s["schema-id"] == metadata["current-schema-id"])
out = {
    "exists": True,
    "format_version": metadata["format-version"],
    "schema": [[f["id"], f["name"], f["type"]] for f in schema["fields"]],
    "snapshots": len(metadata["snapshots"]),
    "files": [],
    "manifest_rows": 0,
}
current = next(s for s in metadata["snapshots"] if s["snapshot-id"] == metadata["current-snapshot-id"])
out["operation"] = current["summary"]["operation"]
out["summary"] = current["summary"]
list_meta, manifests = avro_records(current["manifest-list"])
out["manifest_list_meta"] = list_meta
for m in manifests:
    meta, entries = avro_records(m["manifest_path"])
    out["manifest_meta"] = meta
    for e in entries:
        if e["status"] == 2:
            continue
        d = e["data_file"]
        out["files"].append(d["file_path"])
        out["manifest_rows"] += d["record_count"]
        out.setdefault("bounds", {})
        ids = {f["id"]: f["name"] for f in schema["fields"]}
        for item in d["lower_bounds"] or []:
            out["bounds"].setdefault(ids.get(item["key"], str(item["key"])), []).append(item["value"].hex())
print(json.dumps(out))
