"""Client steps of the crash test (tests/clients.rs): each subcommand does one thing against the
gateway at $S3_HTTP and exits 0 on success.

  put KEY SIZE SEED            PutObject of SIZE pseudo-random bytes (from SEED)
  put-slow KEY SIZE SEED       the same, sent slowly (the test kills the gateway meanwhile)
  check KEY SIZE SEED          GetObject returns exactly those bytes
  check-any KEY SIZE SEED...   GetObject returns exactly the bytes of one of the seeds
  mp-start KEY                 CreateMultipartUpload (SSE-KMS); prints the upload id
  mp-part KEY ID N SIZE SEED   UploadPart N; prints its ETag
  mp-complete KEY ID ETAG...   CompleteMultipartUpload with parts 1..len(ETAG...)
"""

import os
import random
import sys
import time

import boto3
from botocore.config import Config


def client():
    return boto3.client(
        "s3",
        endpoint_url=os.environ["S3_HTTP"],
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                      request_checksum_calculation="when_required"),
    )


def data(size, seed):
    return random.Random(int(seed)).randbytes(int(size))


def slow(body):
    # A generator body: sent chunked, 256 KiB every 20 ms.
    for i in range(0, len(body), 256 << 10):
        time.sleep(0.02)
        yield body[i:i + (256 << 10)]


class Slow:
    def __init__(self, body):
        self.it = slow(body)
        self.buf = b""

    def read(self, n=-1):
        while n < 0 or len(self.buf) < n:
            try:
                self.buf += next(self.it)
            except StopIteration:
                break
        out, self.buf = (self.buf, b"") if n < 0 else (self.buf[:n], self.buf[n:])
        return out


B = "crash"
cmd, args = sys.argv[1], sys.argv[2:]
s3 = client()
if cmd == "put":
    s3.put_object(Bucket=B, Key=args[0], Body=data(args[1], args[2]), ServerSideEncryption="aws:kms")
elif cmd == "put-slow":
    body = data(args[1], args[2])
    s3.put_object(Bucket=B, Key=args[0], Body=Slow(body), ContentLength=len(body))
elif cmd == "check":
    got = s3.get_object(Bucket=B, Key=args[0])["Body"].read()
    sys.exit(0 if got == data(args[1], args[2]) else 3)
elif cmd == "check-any":
    got = s3.get_object(Bucket=B, Key=args[0])["Body"].read()
    sys.exit(0 if any(got == data(args[1], s) for s in args[2:]) else 3)
elif cmd == "mp-start":
    print(s3.create_multipart_upload(Bucket=B, Key=args[0], ServerSideEncryption="aws:kms")["UploadId"])
elif cmd == "mp-part":
    key, uid, n, size, seed = args
    print(s3.upload_part(Bucket=B, Key=key, UploadId=uid, PartNumber=int(n), Body=data(size, seed))["ETag"])
elif cmd == "mp-complete":
    key, uid, etags = args[0], args[1], args[2:]
    s3.complete_multipart_upload(
        Bucket=B, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]},
    )
elif cmd == "mkbucket":
    s3.create_bucket(Bucket=B)
else:
    sys.exit(f"unknown command {cmd}")
