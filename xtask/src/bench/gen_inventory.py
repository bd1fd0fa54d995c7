#!/usr/bin/env python3
"""Writes a large S3 Inventory report in AWS's documented layout for the
benchmarks (pyarrow: C++ CSV and Parquet writers, gzip and snappy), one data
file per worker task, streamed in row groups, so 100M rows need neither our
code nor the memory of 100M rows.

    gen_inventory.py FORMAT ROWS FILES OUTDIR SOURCE [SKIP_EVERY CHANGE_EVERY]

Row i: key "%02x/obj-%010d" % (i % 256, i), size 1 (2 for every CHANGE_EVERYth),
every SKIP_EVERYth row left out (0: none). Fields: Bucket, Key, Size,
LastModifiedDate, ETag, StorageClass. Prints the report folder.
"""

import hashlib
import json
import os
import sys
import uuid
from multiprocessing import Pool

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

GROUP = 1_000_000
ETAG = "d41d8cd98f00b204e9800998ecf8427e"
FIELDS = ["Bucket", "Key", "Size", "LastModifiedDate", "ETag", "StorageClass"]


def table(fmt, source, lo, hi, skip, change):
    ids = [i for i in range(lo, hi) if not (skip and i % skip == 0)]
    n = len(ids)
    if fmt == "CSV":
        # CSV keys are URL-encoded ('/' as %2F); dates ISO 8601.
        keys = ["%02x%%2Fobj-%010d" % (i % 256, i) for i in ids]
        dates = pa.array(["2026-12-01T00:00:00.000Z"] * n)
    else:
        keys = ["%02x/obj-%010d" % (i % 256, i) for i in ids]
        dates = pa.array([1764547200000] * n, type=pa.timestamp("ms"))
    sizes = [2 if change and i % change == 0 else 1 for i in ids]
    return pa.table({
        "bucket": pa.array([source] * n),
        "key": pa.array(keys),
        "size": pa.array(sizes, type=pa.int64()),
        "last_modified_date": dates,
        "e_tag": pa.array([ETAG] * n),
        "storage_class": pa.array(["STANDARD"] * n),
    })


def write_file(task):
    fmt, source, lo, hi, skip, change, path = task
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if fmt == "CSV":
        opts = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
        with pa.CompressedOutputStream(path, "gzip") as out:
            for g in range(lo, hi, GROUP):
                pacsv.write_csv(table(fmt, source, g, min(g + GROUP, hi), skip, change), out, opts)
    else:
        writer = None
        for g in range(lo, hi, GROUP):
            t = table(fmt, source, g, min(g + GROUP, hi), skip, change)
            if writer is None:
                writer = pq.ParquetWriter(path, t.schema, compression="snappy")
            writer.write_table(t)
        if writer is not None:
            writer.close()
    md5 = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            md5.update(chunk)
    return os.path.getsize(path), md5.hexdigest()


def main():
    fmt, rows, files, out, source = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    skip = int(sys.argv[6]) if len(sys.argv) > 6 else 0
    change = int(sys.argv[7]) if len(sys.argv) > 7 else 0
    base = "%s/bench-config" % source
    ext = "csv.gz" if fmt == "CSV" else "parquet"
    per = -(-rows // files)
    tasks, keys = [], []
    for f in range(files):
        lo, hi = f * per, min(rows, (f + 1) * per)
        key = "%s/data/%s.%s" % (base, uuid.uuid4(), ext)
        keys.append(key)
        tasks.append((fmt, source, lo, hi, skip, change, os.path.join(out, key)))
    with Pool(os.cpu_count()) as pool:
        done = pool.map(write_file, tasks, chunksize=1)
    if fmt == "CSV":
        schema = ", ".join(FIELDS)
    else:
        schema = ("message s3.inventory { required binary bucket (UTF8); required binary key (UTF8); "
                  "optional int64 size; optional int64 last_modified_date (TIMESTAMP_MILLIS); "
                  "optional binary e_tag (UTF8); optional binary storage_class (UTF8); }")
    manifest = {
        "sourceBucket": source,
        "destinationBucket": "arn:aws:s3:::bench-inventory",
        "version": "2016-11-30",
        "creationTimestamp": "1764550800000",
        "fileFormat": fmt,
        "fileSchema": schema,
        "files": [{"key": k, "size": s, "MD5checksum": m} for k, (s, m) in zip(keys, done)],
    }
    body = json.dumps(manifest, indent=4).encode()
    folder = "%s/2026-12-01T01-00Z" % base
    os.makedirs(os.path.join(out, folder), exist_ok=True)
    with open(os.path.join(out, folder, "manifest.json"), "wb") as fh:
        fh.write(body)
    with open(os.path.join(out, folder, "manifest.checksum"), "w") as fh:
        fh.write(hashlib.md5(body).hexdigest() + "\n")
    print(folder + "/")


if __name__ == "__main__":
    main()
