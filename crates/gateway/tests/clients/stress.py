"""Concurrent clients (tests/clients.rs): THREADS boto3 clients for SECONDS seconds, each putting
objects of 1 to 64 MiB in a random mode (SSE-S3, SSE-KMS, DSSE-KMS, SSE-C) over its own keys and
reading back a random one of them; every read must return the last acknowledged write, byte for
byte. Prints one JSON line: operations, bytes, failures.

usage: stress.py THREADS SECONDS
"""

import hashlib
import json
import os
import random
import sys
import threading
import time

import boto3
from botocore.config import Config

THREADS, SECONDS = int(sys.argv[1]), float(sys.argv[2])
MIB = 1 << 20
SIZES = [1 * MIB, 4 * MIB, 16 * MIB, 64 * MIB]
BASE = os.urandom(64 * MIB + 4096)
CKEY = os.urandom(32)
B = "stress"
MODES = [
    {"ServerSideEncryption": "AES256"},
    {"ServerSideEncryption": "aws:kms"},
    {"ServerSideEncryption": "aws:kms:dsse"},
    {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": CKEY},
]


def client():
    return boto3.client(
        "s3", endpoint_url=os.environ["S3_HTTP"], region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                      max_pool_connections=2),
    )


lock = threading.Lock()
stats = {"puts": 0, "gets": 0, "bytes": 0, "failures": []}


def worker(tid, deadline):
    s3 = client()
    rnd = random.Random(tid)
    mine = {}  # key -> (sha256, mode index)
    n = 0
    while time.monotonic() < deadline:
        key = f"t{tid}/{n % 3}"
        size = rnd.choice(SIZES)
        off = rnd.randrange(4096)
        body = n.to_bytes(8, "big") + BASE[off:off + size - 8]
        m = rnd.randrange(len(MODES))
        try:
            s3.put_object(Bucket=B, Key=key, Body=body, **MODES[m])
            mine[key] = (hashlib.sha256(body).hexdigest(), m)
            rkey = rnd.choice(sorted(mine))
            sha, rm = mine[rkey]
            extra = MODES[rm] if rm == 3 else {}
            got = s3.get_object(Bucket=B, Key=rkey, **extra)["Body"].read()
            ok = hashlib.sha256(got).hexdigest() == sha
            with lock:
                stats["puts"] += 1
                stats["gets"] += 1
                stats["bytes"] += len(body) + len(got)
                if not ok:
                    stats["failures"].append(f"{rkey}: read differs from the last write")
        except Exception as e:  # noqa: BLE001 - every failure is reported
            with lock:
                stats["failures"].append(f"{key}: {e}")
        n += 1


client().create_bucket(Bucket=B)
deadline = time.monotonic() + SECONDS
t0 = time.monotonic()
ts = [threading.Thread(target=worker, args=(i, deadline)) for i in range(THREADS)]
for t in ts:
    t.start()
for t in ts:
    t.join()
stats["seconds"] = round(time.monotonic() - t0, 1)
stats["threads"] = THREADS
print(json.dumps(stats))
sys.exit(1 if stats["failures"] or stats["puts"] == 0 else 0)
