"""Reads an Iceberg table along the specification's read path, with readers nilus did not
write: the SQL catalog (sqlite3 or psql) gives the metadata file, its JSON the current snapshot, whose
manifest list and manifests (python3-avro) give the data files. Prints one JSON document: the
current schema, the snapshots, the current snapshot's operation and summary, its data files with
their record counts and partitions, and `scan`: the DuckDB query of the table's rows with its
position and equality deletes applied as the specification says (within their partitions).

Usage: /usr/bin/python3 iceberg_read.py CATALOG NAMESPACE TABLE, where CATALOG is an SQLite file
or a postgresql:// address (read with psql).

A table on S3 (locations s3://bucket/key) is read over HTTP from the server at $S3_ENDPOINT, its
files copied into the folder $S3_MIRROR, where the printed data file paths point."""
import json
import os
import sqlite3
import subprocess
import sys
import urllib.request

import avro.datafile
import avro.io


def local(location):
    """The local path of a file the table metadata names: itself, or its copy from S3."""
    if not location.startswith("s3://"):
        return location
    copy = os.path.join(os.environ["S3_MIRROR"], location[len("s3://"):])
    if not os.path.exists(copy):
        os.makedirs(os.path.dirname(copy), exist_ok=True)
        url = os.environ["S3_ENDPOINT"] + "/" + location[len("s3://"):]
        with urllib.request.urlopen(url) as response, open(copy + ".part", "wb") as f:
            f.write(response.read())
        os.rename(copy + ".part", copy)
    return copy


def avro_records(path):
    with open(local(path), "rb") as f:
        reader = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        meta = {k: v.decode() for k, v in reader.meta.items() if not k.startswith("avro.")}
        return meta, list(reader)


catalog, namespace, table = sys.argv[1:4]
if catalog.startswith("postgresql://"):
    # A catalog in PostgreSQL, read with psql.
    found = subprocess.run(
        ["psql", "-qXAt", "-d", catalog, "-v", "ns=" + namespace, "-v", "t=" + table],
        input="SELECT metadata_location FROM iceberg_tables WHERE catalog_name = 'nilus' "
              "AND table_namespace = :'ns' AND table_name = :'t'", capture_output=True, text=True, check=True).stdout
    row = (found.strip(),) if found.strip() else None
else:
    row = sqlite3.connect(catalog).execute(
        "SELECT metadata_location FROM iceberg_tables WHERE catalog_name = 'nilus' AND table_namespace = ? "
        "AND table_name = ?", (namespace, table)).fetchone()
if row is None:
    print(json.dumps({"exists": False}))
    sys.exit(0)
with open(local(row[0])) as f:
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
out["default_sort_order"] = next(o["fields"] for o in metadata["sort-orders"]
                                 if o["order-id"] == metadata["default-sort-order-id"])
out["sort_order_ids"] = []
out["manifests"] = len(manifests)
ids = {f["id"]: f["name"] for f in schema["fields"]}
data, position_deletes, equality_deletes = [], [], []
out["partitions"] = []
for m in manifests:
    meta, entries = avro_records(m["manifest_path"])
    # The newest manifest's metadata of each content (the list has the newest first).
    out.setdefault("manifest_meta" if m["content"] == 0 else "delete_manifest_meta", meta)
    spec_id = int(meta["partition-spec-id"])
    assert spec_id == m["partition_spec_id"], "the manifest list and the manifest disagree on the spec"
    unpartitioned = json.loads(meta["partition-spec"]) == []
    for e in entries:
        if e["status"] == 2:
            continue
        d = e["data_file"]
        # An added file's sequence number is its manifest's (inherited) unless it says one.
        seq = e["sequence_number"] if e["sequence_number"] is not None else m["sequence_number"]
        # The file's partition: its spec and partition values (deletes apply within it).
        part = json.dumps([spec_id, d["partition"]], sort_keys=True, default=str)
        if d["content"] == 0:
            data.append((local(d["file_path"]), d["file_path"], seq, part))
            out["partitions"].append([local(d["file_path"]), spec_id, json.loads(part)[1]])
            out["sort_order_ids"].append(d["sort_order_id"])
            out["files"].append(local(d["file_path"]))
            out["manifest_rows"] += d["record_count"]
            out.setdefault("bounds", {})
            for item in d["lower_bounds"] or []:
                out["bounds"].setdefault(ids.get(item["key"], str(item["key"])), []).append(item["value"].hex())
        elif d["content"] == 1:
            position_deletes.append((local(d["file_path"]), seq, part))
        else:
            equality_deletes.append((local(d["file_path"]), seq, [ids[i] for i in d["equality_ids"]],
                                     None if unpartitioned else part))
out["delete_files"] = len(position_deletes) + len(equality_deletes)


def quote(text):
    return "'" + str(text).replace("'", "''") + "'"


# The table's rows as DuckDB reads them along the specification: every data file, less the rows
# a position delete of an equal or later sequence number names, and less the rows whose columns
# equal those of an equality delete of a later sequence number.
if data:
    files = ", ".join(quote(path) for path, _, _, _ in data)
    seqs = ", ".join(f"({quote(path)}, {quote(location)}, {seq}, {quote(part)})" for path, location, seq, part in data)
    rows = (f"SELECT d.* EXCLUDE (filename, file_row_number), d.file_row_number AS __row, "
            f"s.location AS __location, s.seq AS __seq, s.part AS __part "
            f"FROM read_parquet([{files}], filename = true, file_row_number = true, union_by_name = true) d "
            f"JOIN (VALUES {seqs}) s(path, location, seq, part) ON d.filename = s.path")
    conditions = []
    for path, seq, part in position_deletes:
        conditions.append(f"NOT EXISTS (SELECT 1 FROM read_parquet({quote(path)}) p WHERE p.file_path = t.__location "
                          f"AND p.pos = t.__row AND {seq} >= t.__seq AND t.__part = {quote(part)})")
    for path, seq, columns, part in equality_deletes:
        match = " AND ".join(f'e."{c}" IS NOT DISTINCT FROM t."{c}"' for c in columns)
        scope = "" if part is None else f" AND t.__part = {quote(part)}"
        conditions.append(f"NOT EXISTS (SELECT 1 FROM read_parquet({quote(path)}) e WHERE {seq} > t.__seq AND {match}"
                          f"{scope})")
    scan = (f"SELECT * EXCLUDE (__row, __location, __seq, __part) FROM ({rows}) t"
            + (" WHERE " + " AND ".join(conditions) if conditions else ""))
    out["scan"] = scan
print(json.dumps(out))
