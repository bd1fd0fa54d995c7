#!/usr/bin/env python3
"""Writes an S3 Inventory report in AWS's documented layout, as an
independent writer for the tests of our reader (Python's csv and gzip,
pyarrow for Parquet; none of our code).

    inventory_report.py SPEC.json OUTDIR

SPEC (JSON):
  source_bucket, destination_bucket, prefix (may be ""), config_id,
  timestamp ("2026-12-06T01-00Z"), created_ms, format ("CSV" | "Parquet"),
  versioned (bool), fields (optional field names, CSV spelling, e.g.
  ["Size", "ETag", "ObjectAccessControlList", "ObjectOwner"]), files (how
  many data files), rows: [{key, size, etag, storage_class,
  last_modified_ms, encryption, version_id, is_latest, is_delete_marker,
  acl: {status, grants: [...]}, owner}] (or generate: {count, key_format,
  skip_every, change_every} for large reports), damage: null | "checksum" |
  "missing_file" | "truncated" | "md5".

Writes OUTDIR/<prefix>/<source>/<config>/<timestamp>/manifest.json and
manifest.checksum, and the data files under OUTDIR/<prefix>/<source>/
<config>/data/. Prints the report folder (relative to OUTDIR).
"""

import base64
import csv
import gzip
import hashlib
import io
import json
import os
import sys
import urllib.parse
import uuid
from datetime import datetime, timezone

# AWS's order of the optional fields in every report.
ORDER = [
    "Size", "LastModifiedDate", "ETag", "StorageClass", "IsMultipartUploaded",
    "ReplicationStatus", "EncryptionStatus", "ObjectLockRetainUntilDate",
    "ObjectLockMode", "ObjectLockLegalHoldStatus", "IntelligentTieringAccessTier",
    "BucketKeyStatus", "ChecksumAlgorithm", "ObjectAccessControlList", "ObjectOwner",
]
KINDS = {"Size": "int", "LastModifiedDate": "time", "IsMultipartUploaded": "bool",
         "IsLatest": "bool", "IsDeleteMarker": "bool"}


def snake(name):
    out = ""
    for i, c in enumerate(name):
        if c.isupper() and i > 0:
            out += "_"
        out += c.lower()
    return out


def columns(spec):
    cols = ["Bucket", "Key"]
    if spec["versioned"]:
        cols += ["VersionId", "IsLatest", "IsDeleteMarker"]
    cols += [f for f in ORDER if f in spec["fields"]]
    return cols


def acl_field(acl):
    if acl is None:
        return None
    doc = {"version": "2022-11-10", "status": acl["status"]}
    if acl["status"] == "AVAILABLE":
        doc["grants"] = acl["grants"]
    return base64.b64encode(json.dumps(doc).encode()).decode()


def value(row, col, bucket):
    """The row's value for a column, as Python (None: null)."""
    deleted = row.get("is_delete_marker", False)
    if col == "Bucket":
        return bucket
    if col == "Key":
        return row["key"]
    if col == "VersionId":
        return row.get("version_id")
    if col == "IsLatest":
        return row.get("is_latest", True)
    if col == "IsDeleteMarker":
        return deleted
    if col == "LastModifiedDate":
        return row.get("last_modified_ms", 0)
    if col == "ObjectOwner":
        acl = row.get("acl")
        if acl is not None and acl["status"] == "UNAVAILABLE":
            return "UNAVAILABLE"
        return row.get("owner")
    if deleted:
        return None
    if col == "Size":
        return row.get("size", 0)
    if col == "ETag":
        return row.get("etag", "d41d8cd98f00b204e9800998ecf8427e")
    if col == "StorageClass":
        return row.get("storage_class", "STANDARD")
    if col == "EncryptionStatus":
        return row.get("encryption", "SSE-S3")
    if col == "ObjectAccessControlList":
        return acl_field(row.get("acl"))
    if col == "IsMultipartUploaded":
        return False
    return None


def iso(ms):
    t = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def csv_text(v, col):
    if v is None:
        return ""
    if col == "Key":
        return urllib.parse.quote_plus(v, safe="")
    if isinstance(v, bool):
        return "true" if v else "false"
    if col == "LastModifiedDate":
        return iso(v)
    return str(v)


def write_csv(rows, cols, bucket):
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for row in rows:
        w.writerow([csv_text(value(row, c, bucket), c) for c in cols])
    return gzip.compress(buf.getvalue().encode())


def write_parquet(rows, cols, bucket):
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields, arrays = [], []
    for c in cols:
        kind = KINDS.get(c, "str")
        vals = [value(r, c, bucket) for r in rows]
        typ = {"int": pa.int64(), "bool": pa.bool_(), "time": pa.timestamp("ms"),
               "str": pa.string()}[kind]
        fields.append(pa.field(snake(c), typ, nullable=c not in ("Bucket", "Key")))
        arrays.append(pa.array(vals, type=typ))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    out = io.BytesIO()
    pq.write_table(table, out, compression="snappy")
    return out.getvalue()


def file_schema(cols, fmt):
    if fmt == "CSV":
        return ", ".join(cols)
    parts = []
    for c in cols:
        kind = KINDS.get(c, "str")
        rep = "required" if c in ("Bucket", "Key") else "optional"
        phys = {"int": "int64", "time": "int64", "bool": "boolean", "str": "binary"}[kind]
        ann = {"str": " (UTF8)", "time": " (TIMESTAMP_MILLIS)"}.get(kind, "")
        parts.append("%s %s %s%s;" % (rep, phys, snake(c), ann))
    return "message s3.inventory { %s }" % " ".join(parts)


def generated(g):
    """Rows made here rather than listed in the spec (large reports):
    key_format % i for i in range(count), except every `skip_every`th; size
    1, or 2 for every `change_every`th."""
    rows = []
    for i in range(g["count"]):
        if g.get("skip_every") and i % g["skip_every"] == 0:
            continue
        size = 2 if g.get("change_every") and i % g["change_every"] == 0 else 1
        rows.append({"key": g["key_format"] % i, "size": size})
    return rows


def main():
    spec = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    if "generate" in spec:
        spec["rows"] = generated(spec["generate"])
    base = "/".join(p for p in [spec["prefix"].strip("/"), spec["source_bucket"], spec["config_id"]] if p)
    cols = columns(spec)
    fmt = spec["format"]
    rows = spec["rows"]
    n = max(1, spec.get("files", 1))
    chunks = [rows[i::n] for i in range(n)]
    files = []
    for chunk in chunks:
        ext = "csv.gz" if fmt == "CSV" else "parquet"
        key = "%s/data/%s.%s" % (base, uuid.uuid4(), ext)
        data = write_csv(chunk, cols, spec["source_bucket"]) if fmt == "CSV" \
            else write_parquet(chunk, cols, spec["source_bucket"])
        files.append({"key": key, "size": len(data), "MD5checksum": hashlib.md5(data).hexdigest(), "data": data})
    damage = spec.get("damage")
    if damage == "truncated":
        f = files[0]
        f["data"] = f["data"][: len(f["data"]) // 2]
        f["size"] = len(f["data"])
        f["MD5checksum"] = hashlib.md5(f["data"]).hexdigest()
    if damage == "md5":
        files[0]["MD5checksum"] = "0" * 32
    for f in files:
        if damage == "missing_file" and f is files[-1]:
            continue
        path = os.path.join(out, f["key"])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(f["data"])
    manifest = {
        "sourceBucket": spec["source_bucket"],
        "destinationBucket": "arn:aws:s3:::" + spec["destination_bucket"],
        "version": "2016-11-30",
        "creationTimestamp": str(spec["created_ms"]),
        "fileFormat": fmt,
        "fileSchema": file_schema(cols, fmt),
        "files": [{k: f[k] for k in ("key", "size", "MD5checksum")} for f in files],
    }
    body = json.dumps(manifest, indent=4).encode()
    folder = "%s/%s" % (base, spec["timestamp"])
    os.makedirs(os.path.join(out, folder), exist_ok=True)
    with open(os.path.join(out, folder, "manifest.json"), "wb") as fh:
        fh.write(body)
    checksum = hashlib.md5(body).hexdigest()
    if damage == "checksum":
        checksum = "f" * 32
    with open(os.path.join(out, folder, "manifest.checksum"), "w") as fh:
        fh.write(checksum + "\n")
    print(folder + "/")


if __name__ == "__main__":
    main()
