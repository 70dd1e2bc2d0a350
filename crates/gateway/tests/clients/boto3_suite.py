"""The gateway through boto3, as an S3 application uses it: every mode through put, get, head,
ranges, partNumber, copy between modes and multipart (with re-uploaded parts); bucket default
encryption; S3's errors for SSE-C, KMS headers, unknown algorithms, directory buckets and bad
signatures. Started by tests/clients.rs with the endpoints and keys in the environment.

Exits 1 if any check failed; prints one line per check group and the failures.
"""

import base64
import hashlib
import os
import sys

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import ClientError

HTTP = os.environ["S3_HTTP"]
HTTPS = os.environ["S3_HTTPS"]
CA = os.environ["S3_CA"]
KEY_ID = os.environ["KMS_KEY_ID"]
KEY_ARN = os.environ["KMS_KEY_ARN"]
ALIAS = os.environ["KMS_ALIAS"]
DIR_KEY_ARN = os.environ["KMS_DIR_KEY_ARN"]

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def sign_as_s3(request, **_):
    # boto3 signs directory-bucket (--x-s3) requests for service "s3express"; the gateway's
    # SigV4 check (s3s 0.14) accepts the "s3" service only, so these sign as "s3".
    request.context.setdefault("signing", {})["signing_name"] = "s3"


def client(endpoint, verify=None, secret=None, **cfg):
    c = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=secret or os.environ["AWS_SECRET_ACCESS_KEY"],
        verify=verify,
        # Directory buckets: plain SigV4, not S3 Express session auth (CreateSession is not served).
        config=Config(s3={"addressing_style": "path", "disable_s3_express_session_auth": True}, retries={"max_attempts": 1}, **cfg),
    )
    c.meta.events.register("before-sign.s3", sign_as_s3)
    return c


s3 = client(HTTPS, verify=CA)  # TLS: SSE-C allowed
plain = client(HTTP)  # plain HTTP: SSE-C refused


def error_of(fn, **kw):
    """(code, status) of a refused call, or None if it succeeded."""
    try:
        fn(**kw)
    except ClientError as e:
        return (e.response["Error"].get("Code"), e.response["ResponseMetadata"]["HTTPStatusCode"])
    return None


def sse_c(key):
    return {
        "SSECustomerAlgorithm": "AES256",
        "SSECustomerKey": key,  # boto3 base64-encodes it and adds the MD5
    }


CKEY = os.urandom(32)
CKEY2 = os.urandom(32)

MODES = {
    "default": {},
    "AES256": {"ServerSideEncryption": "AES256"},
    "kms-default-key": {"ServerSideEncryption": "aws:kms"},
    "kms-key-id": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KEY_ID},
    "kms-key-arn": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KEY_ARN, "BucketKeyEnabled": True},
    "kms-alias": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": ALIAS},
    "dsse": {"ServerSideEncryption": "aws:kms:dsse", "SSEKMSKeyId": KEY_ARN},
    "sse-c": sse_c(CKEY),
}


def expected_sse(mode):
    return {
        "default": "AES256",
        "AES256": "AES256",
        "sse-c": None,
        "dsse": "aws:kms:dsse",
    }.get(mode, "aws:kms")


def read_args(mode):
    return sse_c(CKEY) if mode == "sse-c" else {}


B = "gw-general"
DIRB = "gwdir--use1-az4--x-s3"

# --- buckets -----------------------------------------------------------------------------
s3.create_bucket(Bucket=B)
s3.create_bucket(Bucket=DIRB)
names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
check(B in names and DIRB in names, f"list_buckets shows both buckets: {names}")
s3.head_bucket(Bucket=B)
check(error_of(s3.head_bucket, Bucket="no-such-bucket-here") == ("404", 404), "head_bucket of a missing bucket is 404")
check(error_of(s3.create_bucket, Bucket=B) == ("BucketAlreadyOwnedByYou", 409), "create_bucket twice: BucketAlreadyOwnedByYou")
check(error_of(s3.create_bucket, Bucket="Bad_Name") is not None, "create_bucket with an invalid name is refused")
print("buckets: ok", flush=True)

# --- every mode: put / get / head / ranges ------------------------------------------------
data = os.urandom(1_000_003)
for mode, args in MODES.items():
    key = f"obj/{mode}"
    r = s3.put_object(Bucket=B, Key=key, Body=data, **args)
    check(r.get("ServerSideEncryption") == expected_sse(mode), f"{mode}: put answers SSE {r.get('ServerSideEncryption')}")
    if mode == "sse-c":
        check(r.get("SSECustomerKeyMD5") == base64.b64encode(hashlib.md5(CKEY).digest()).decode(), "sse-c: put echoes the key MD5")
    if expected_sse(mode).startswith("aws:kms") if expected_sse(mode) else False:
        check(r.get("SSEKMSKeyId", "").startswith("arn:aws:kms:"), f"{mode}: put answers the key ARN {r.get('SSEKMSKeyId')}")
    if mode in ("default", "AES256"):
        check(r["ETag"].strip('"') == hashlib.md5(data).hexdigest(), f"{mode}: ETag is the MD5 of the data")
    g = s3.get_object(Bucket=B, Key=key, **read_args(mode))
    check(g["Body"].read() == data, f"{mode}: get returns the data")
    check(g.get("ServerSideEncryption") == expected_sse(mode), f"{mode}: get answers SSE")
    h = s3.head_object(Bucket=B, Key=key, **read_args(mode))
    check(h["ContentLength"] == len(data), f"{mode}: head ContentLength")
    if mode == "kms-key-arn":
        check(h.get("BucketKeyEnabled") is True, "kms-key-arn: head says BucketKeyEnabled")
    for rng, sl in (
        ("bytes=100-70000", slice(100, 70001)),
        ("bytes=-1000", slice(len(data) - 1000, len(data))),
        ("bytes=999990-", slice(999990, len(data))),
        ("bytes=0-0", slice(0, 1)),
        ("bytes=65535-65537", slice(65535, 65538)),
    ):
        g = s3.get_object(Bucket=B, Key=key, Range=rng, **read_args(mode))
        body = g["Body"].read()
        check(body == data[sl], f"{mode}: range {rng}")
        check(g["ResponseMetadata"]["HTTPStatusCode"] == 206, f"{mode}: range {rng} is 206")
        check(g.get("ContentRange") == f"bytes {sl.start}-{sl.stop - 1}/{len(data)}", f"{mode}: Content-Range of {rng}: {g.get('ContentRange')}")
    check(error_of(s3.get_object, Bucket=B, Key=key, Range="bytes=2000000-", **read_args(mode)) == ("InvalidRange", 416), f"{mode}: unsatisfiable range is 416")
# Empty objects too.
s3.put_object(Bucket=B, Key="empty", Body=b"", ServerSideEncryption="aws:kms")
check(s3.get_object(Bucket=B, Key="empty")["Body"].read() == b"", "empty object round trip")
print("modes put/get/head/ranges: ok", flush=True)

# --- multipart (every mode), re-uploaded part, partNumber ----------------------------------
MIB = 1 << 20
for mode, args in MODES.items():
    key = f"mp/{mode}"
    up = s3.create_multipart_upload(Bucket=B, Key=key, **args)
    uid = up["UploadId"]
    check(up.get("ServerSideEncryption") == expected_sse(mode), f"{mode}: create_multipart_upload answers SSE")
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(MIB + 7)]
    etags = {}
    for n, p in enumerate(parts, 1):
        etags[n] = s3.upload_part(Bucket=B, Key=key, UploadId=uid, PartNumber=n, Body=p, **read_args(mode))["ETag"]
    old2 = etags[2]
    parts[1] = os.urandom(5 * MIB)
    etags[2] = s3.upload_part(Bucket=B, Key=key, UploadId=uid, PartNumber=2, Body=parts[1], **read_args(mode))["ETag"]
    check(old2 != etags[2], f"{mode}: a re-uploaded part has a new ETag")
    if mode == "sse-c":
        e = error_of(s3.upload_part, Bucket=B, Key=key, UploadId=uid, PartNumber=4, Body=b"x")
        check(e == ("InvalidRequest", 400), f"sse-c: upload_part without the key: {e}")
    listed = s3.list_parts(Bucket=B, Key=key, UploadId=uid)["Parts"]
    check([p["PartNumber"] for p in listed] == [1, 2, 3], f"{mode}: list_parts numbers")
    check([p["ETag"] for p in listed] == [etags[1], etags[2], etags[3]], f"{mode}: list_parts ETags are the latest")
    stale = [{"PartNumber": 1, "ETag": etags[1]}, {"PartNumber": 2, "ETag": old2}, {"PartNumber": 3, "ETag": etags[3]}]
    e = error_of(s3.complete_multipart_upload, Bucket=B, Key=key, UploadId=uid, MultipartUpload={"Parts": stale})
    check(e == ("InvalidPart", 400), f"{mode}: completing with a replaced part's ETag: {e}")
    done = s3.complete_multipart_upload(
        Bucket=B, Key=key, UploadId=uid,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2, 3)]},
    )
    check(done["ETag"].strip('"').endswith("-3"), f"{mode}: multipart ETag ends in -3: {done['ETag']}")
    whole = b"".join(parts)
    check(s3.get_object(Bucket=B, Key=key, **read_args(mode))["Body"].read() == whole, f"{mode}: multipart object reads back")
    g = s3.get_object(Bucket=B, Key=key, PartNumber=2, **read_args(mode))
    check(g["Body"].read() == parts[1], f"{mode}: get PartNumber=2 is the re-uploaded part")
    check(g.get("PartsCount") == 3, f"{mode}: PartsCount 3")
    h = s3.head_object(Bucket=B, Key=key, PartNumber=3, **read_args(mode))
    check(h["ContentLength"] == len(parts[2]), f"{mode}: head PartNumber=3 length")
    rng = s3.get_object(Bucket=B, Key=key, Range=f"bytes={5 * MIB - 10}-{10 * MIB + 10}", **read_args(mode))["Body"].read()
    check(rng == whole[5 * MIB - 10: 10 * MIB + 11], f"{mode}: a range across part boundaries")
    e = error_of(s3.get_object, Bucket=B, Key=key, PartNumber=4, **read_args(mode))
    check(e is not None and e[1] in (400, 416), f"{mode}: a part the object does not have is refused: {e}")
# Abort.
uid = s3.create_multipart_upload(Bucket=B, Key="mp/aborted")["UploadId"]
s3.upload_part(Bucket=B, Key="mp/aborted", UploadId=uid, PartNumber=1, Body=b"abc")
ups = [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=B).get("Uploads", [])]
check(uid in ups, "list_multipart_uploads shows the upload")
s3.abort_multipart_upload(Bucket=B, Key="mp/aborted", UploadId=uid)
e = error_of(s3.list_parts, Bucket=B, Key="mp/aborted", UploadId=uid)
check(e == ("NoSuchUpload", 404), f"an aborted upload is gone: {e}")
check(error_of(s3.head_object, Bucket=B, Key="mp/aborted") == ("404", 404), "an aborted upload wrote no object")
# UploadPartCopy from an SSE-C source into an SSE-KMS upload.
uid = s3.create_multipart_upload(Bucket=B, Key="mp/copied", ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY_ARN)["UploadId"]
c1 = s3.upload_part_copy(
    Bucket=B, Key="mp/copied", UploadId=uid, PartNumber=1,
    CopySource={"Bucket": B, "Key": "mp/sse-c"}, CopySourceRange=f"bytes=0-{5 * MIB - 1}",
    CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=CKEY,
)["CopyPartResult"]["ETag"]
c2 = s3.upload_part_copy(
    Bucket=B, Key="mp/copied", UploadId=uid, PartNumber=2, CopySource={"Bucket": B, "Key": "obj/AES256"},
)["CopyPartResult"]["ETag"]
s3.complete_multipart_upload(Bucket=B, Key="mp/copied", UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": c1}, {"PartNumber": 2, "ETag": c2}]})
src_c = s3.get_object(Bucket=B, Key="mp/sse-c", **sse_c(CKEY))["Body"].read()
check(s3.get_object(Bucket=B, Key="mp/copied")["Body"].read() == src_c[: 5 * MIB] + data, "upload_part_copy: SSE-C range + SSE-S3 object into SSE-KMS")
print("multipart: ok", flush=True)

# --- copy between modes -------------------------------------------------------------------
for src in MODES:
    for dst in ("AES256", "kms-key-arn", "dsse", "sse-c"):
        dkey = f"copy/{src}-to-{dst}"
        extra = {}
        if src == "sse-c":
            extra = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": CKEY}
        dargs = dict(MODES[dst])
        if dst == "sse-c":
            dargs = sse_c(CKEY2)
        r = s3.copy_object(Bucket=B, Key=dkey, CopySource={"Bucket": B, "Key": f"obj/{src}"}, **dargs, **extra)
        check(r.get("ServerSideEncryption") == expected_sse(dst), f"copy {src}->{dst}: SSE {r.get('ServerSideEncryption')}")
        rargs = sse_c(CKEY2) if dst == "sse-c" else {}
        check(s3.get_object(Bucket=B, Key=dkey, **rargs)["Body"].read() == data, f"copy {src}->{dst}: data")
e = error_of(s3.copy_object, Bucket=B, Key="copy/x", CopySource={"Bucket": B, "Key": "obj/sse-c"})
check(e is not None and e[1] == 400, f"copy of an SSE-C source without its key: {e}")
print("copy: ok", flush=True)

# --- bucket default encryption ------------------------------------------------------------
check(error_of(s3.get_bucket_encryption, Bucket=B) == ("ServerSideEncryptionConfigurationNotFoundError", 404), "no configuration yet: 404")
s3.put_bucket_encryption(
    Bucket=B,
    ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN}, "BucketKeyEnabled": True}]},
)
cfg = s3.get_bucket_encryption(Bucket=B)["ServerSideEncryptionConfiguration"]["Rules"][0]
check(cfg["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms", "get_bucket_encryption: aws:kms")
check(cfg["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID") == KEY_ARN, "get_bucket_encryption: the key")
r = s3.put_object(Bucket=B, Key="dflt/kms", Body=b"x")
check(r.get("ServerSideEncryption") == "aws:kms" and r.get("SSEKMSKeyId") == KEY_ARN, f"the bucket default applies: {r.get('ServerSideEncryption')} {r.get('SSEKMSKeyId')}")
check(r.get("BucketKeyEnabled") is True, "the default's bucket key applies")
r = s3.put_object(Bucket=B, Key="dflt/aes", Body=b"x", ServerSideEncryption="AES256")
check(r.get("ServerSideEncryption") == "AES256", "a request header overrides the bucket default")
bad = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms:unknown"}}]}
e = error_of(s3.put_bucket_encryption, Bucket=B, ServerSideEncryptionConfiguration=bad)
check(e is not None and e[1] == 400, f"an unknown SSEAlgorithm in the configuration is a 400: {e}")
bad = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256", "KMSMasterKeyID": KEY_ARN}}]}
e = error_of(s3.put_bucket_encryption, Bucket=B, ServerSideEncryptionConfiguration=bad)
check(e is not None and e[1] == 400, f"KMSMasterKeyID with AES256 in the configuration is a 400: {e}")
s3.delete_bucket_encryption(Bucket=B)
r = s3.put_object(Bucket=B, Key="dflt/after", Body=b"x")
check(r.get("ServerSideEncryption") == "AES256", "after DeleteBucketEncryption: SSE-S3")
print("bucket default encryption: ok", flush=True)

# --- S3's refusals ------------------------------------------------------------------------
def refused(what, expect, fn, key=None, **kw):
    e = error_of(fn, **kw)
    check(e == expect, f"{what}: expected {expect}, got {e}")
    if key is not None:
        check(error_of(s3.head_object, Bucket=B, Key=key) == ("404", 404), f"{what}: nothing written")


refused("KMS key id with AES256", ("InvalidArgument", 400), s3.put_object, key="ref/1", Bucket=B, Key="ref/1", Body=b"x", ServerSideEncryption="AES256", SSEKMSKeyId=KEY_ARN)
refused("unknown algorithm", ("InvalidArgument", 400), s3.put_object, key="ref/2", Bucket=B, Key="ref/2", Body=b"x", ServerSideEncryption="AES999")
refused("SSE-C over plain HTTP", ("InvalidRequest", 400), plain.put_object, key="ref/3", Bucket=B, Key="ref/3", Body=b"x", **sse_c(CKEY))
refused("SSE-C with a managed header", ("InvalidArgument", 400), s3.put_object, key="ref/4", Bucket=B, Key="ref/4", Body=b"x", ServerSideEncryption="AES256", **sse_c(CKEY))
refused("unknown KMS key", ("KMS.NotFoundException", 400), s3.put_object, key="ref/5", Bucket=B, Key="ref/5", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/no-such-alias")
refused("DSSE on a directory bucket", ("InvalidRequest", 400), s3.put_object, Bucket=DIRB, Key="ref/6", Body=b"x", ServerSideEncryption="aws:kms:dsse")
refused("SSE-C on a directory bucket", ("InvalidRequest", 400), s3.put_object, Bucket=DIRB, Key="ref/7", Body=b"x", **sse_c(CKEY))
refused("GET of an SSE-C object without its key", ("InvalidRequest", 400), s3.get_object, Bucket=B, Key="obj/sse-c")
refused("HEAD of an SSE-C object without its key", ("400", 400), s3.head_object, Bucket=B, Key="obj/sse-c")
refused("GET of an SSE-C object with a wrong key", ("AccessDenied", 403), s3.get_object, Bucket=B, Key="obj/sse-c", **sse_c(CKEY2))
refused("SSE headers on GET of an SSE-S3 object", ("InvalidRequest", 400), s3.get_object, Bucket=B, Key="obj/AES256", **sse_c(CKEY))
refused("no such key", ("NoSuchKey", 404), s3.get_object, Bucket=B, Key="nope")
refused("no such bucket", ("NoSuchBucket", 404), s3.put_object, Bucket="no-such-bucket-here", Key="k", Body=b"x")
bad_sig = client(HTTPS, verify=CA, secret="not-the-secret-0123456789")
refused("a bad signature", ("SignatureDoesNotMatch", 403), bad_sig.put_object, key="ref/8", Bucket=B, Key="ref/8", Body=b"x")
refused("a bad signature on GET", ("SignatureDoesNotMatch", 403), bad_sig.get_object, Bucket=B, Key="obj/AES256")

# SSE-C key errors at the header level (raw headers: boto3 would compute the MD5 itself).
def with_headers(headers):
    def add(request, **_):
        for k, v in headers.items():
            if v is None:
                request.headers.pop(k, None)
            else:
                request.headers[k] = v
    return add


def raw_put(key, headers):
    c = client(HTTPS, verify=CA)
    c.meta.events.register("before-sign.s3.PutObject", with_headers(headers))
    return error_of(c.put_object, Bucket=B, Key=key, Body=b"x")


k64 = base64.b64encode(CKEY).decode()
m64 = base64.b64encode(hashlib.md5(CKEY).digest()).decode()
A = "x-amz-server-side-encryption-customer-algorithm"
K = "x-amz-server-side-encryption-customer-key"
M = "x-amz-server-side-encryption-customer-key-MD5"
check(raw_put("ref/9", {A: "AES256", K: k64}) == ("InvalidArgument", 400), "SSE-C without the key MD5")
check(raw_put("ref/10", {A: "AES256", K: k64, M: base64.b64encode(b"0" * 16).decode()}) == ("InvalidArgument", 400), "SSE-C with a wrong key MD5")
check(raw_put("ref/11", {A: "AES256", M: m64}) == ("InvalidArgument", 400), "SSE-C without the key")
check(raw_put("ref/12", {A: "AES512", K: k64, M: m64}) is not None, "SSE-C with another algorithm")
check(raw_put("ref/13", {A: "AES256", K: base64.b64encode(b"k" * 16).decode(), M: base64.b64encode(hashlib.md5(b"k" * 16).digest()).decode()}) == ("InvalidArgument", 400), "SSE-C key of 16 bytes")
for n in range(9, 14):
    check(error_of(s3.head_object, Bucket=B, Key=f"ref/{n}") == ("404", 404), f"ref/{n}: nothing written")

# Directory bucket rules.
e = error_of(s3.put_bucket_encryption, Bucket=DIRB, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": ALIAS}}]})
check(e is not None and e[1] == 400, f"directory bucket: an alias in the configuration is refused: {e}")
s3.put_bucket_encryption(Bucket=DIRB, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": DIR_KEY_ARN}, "BucketKeyEnabled": True}]})
r = s3.put_object(Bucket=DIRB, Key="d/1", Body=data)
check(r.get("ServerSideEncryption") == "aws:kms", "directory bucket: its default key applies")
check(s3.get_object(Bucket=DIRB, Key="d/1")["Body"].read() == data, "directory bucket: round trip")
e = error_of(s3.put_object, Bucket=DIRB, Key="d/2", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=KEY_ARN)
check(e is not None and e[1] == 400, f"directory bucket: another key in a request is refused: {e}")
e = error_of(s3.put_bucket_encryption, Bucket=DIRB, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KEY_ARN}}]})
check(e is not None and e[1] == 400, f"directory bucket: its key cannot change: {e}")
# FSx access points: the file system's encryption, nothing configurable.
FSX = "gw-fsx"
r = s3.put_object(Bucket=FSX, Key="f", Body=data)
check(r.get("ServerSideEncryption") == "aws:fsx", f"FSx: put answers aws:fsx ({r.get('ServerSideEncryption')})")
check(s3.get_object(Bucket=FSX, Key="f")["Body"].read() == data, "FSx: round trip")
e = error_of(s3.put_object, Bucket=FSX, Key="f2", Body=b"x", ServerSideEncryption="aws:kms")
check(e is not None and e[1] == 400, f"FSx: SSE-KMS is refused: {e}")
e = error_of(s3.put_object, Bucket=FSX, Key="f3", Body=b"x", **sse_c(CKEY))
check(e is not None and e[1] == 400, f"FSx: SSE-C is refused: {e}")
e = error_of(s3.put_bucket_encryption, Bucket=FSX, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
check(e is not None and e[1] >= 400, f"FSx: no configurable encryption: {e}")
print("refusals: ok", flush=True)

# --- listing and deletion -----------------------------------------------------------------
keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket=B, PaginationConfig={"PageSize": 7}):
    keys += [o["Key"] for o in page.get("Contents", [])]
check(keys == sorted(keys) and len(keys) == len(set(keys)), "list_objects_v2 pages: sorted, no repeats")
check("obj/AES256" in keys and "mp/dsse" in keys, "list_objects_v2 shows objects")
top = s3.list_objects_v2(Bucket=B, Delimiter="/")
check(sorted(p["Prefix"] for p in top.get("CommonPrefixes", [])) == ["copy/", "dflt/", "mp/", "obj/"], f"common prefixes: {top.get('CommonPrefixes')}")
objs = {o["Key"]: o for o in s3.list_objects_v2(Bucket=B, Prefix="obj/")["Contents"]}
check(objs["obj/AES256"]["Size"] == len(data), "listed size is the plaintext size")
s3.put_object(Bucket=B, Key="weird key +é%", Body=b"w")
check("weird key +é%" in [o["Key"] for o in s3.list_objects_v2(Bucket=B, Prefix="weird")["Contents"]], "a key with spaces, + and UTF-8 lists as itself")
s3.delete_object(Bucket=B, Key="weird key +é%")
check(error_of(s3.head_object, Bucket=B, Key="weird key +é%") == ("404", 404), "delete_object removes it")
check(error_of(s3.delete_bucket, Bucket=B) == ("BucketNotEmpty", 409), "a bucket with objects is not deleted")
s3.create_bucket(Bucket="gw-empty")
s3.delete_bucket(Bucket="gw-empty")
check("gw-empty" not in [b["Name"] for b in s3.list_buckets()["Buckets"]], "delete_bucket of an empty bucket")
print("listing and deletion: ok", flush=True)

# --- presigned URLs -----------------------------------------------------------------------
import ssl
import urllib.error
import urllib.request

ctx = ssl.create_default_context(cafile=CA)
url = s3.generate_presigned_url("get_object", Params={"Bucket": B, "Key": "obj/kms-key-arn"}, ExpiresIn=300)
check(urllib.request.urlopen(url, context=ctx).read() == data, "a presigned GET URL")
try:
    urllib.request.urlopen(url.replace("Signature=", "Signature=0"), context=ctx)
    check(False, "a tampered presigned URL is refused")
except urllib.error.HTTPError as e:
    check(e.code == 403, f"a tampered presigned URL is refused with 403 (got {e.code})")
print("presigned URLs: ok", flush=True)

print(f"boto3 {boto3.__version__} / botocore {botocore.__version__}: {checks} checks, {len(failures)} failed")
sys.exit(1 if failures else 0)
