#!/usr/bin/env bash
# The gateway through the aws command line (s3 and s3api), as an operator uses it: uploads small
# and multipart (the CLI splits large files into 8 MiB parts and sends them in parallel) in every
# mode, downloads, ranges, listing, bucket default encryption and S3's refusals. Started by
# tests/clients.rs with the endpoints in the environment; exits non-zero on the first failure.
set -euo pipefail

AWS="${AWS_BIN:-aws}"
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
H=(--endpoint-url "$S3_HTTP")
S=(--endpoint-url "$S3_HTTPS" --ca-bundle "$S3_CA")
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
checks=0

ok() { checks=$((checks + 1)); }
fail() { echo "FAIL: $*" >&2; exit 1; }
same() { cmp -s "$1" "$2" || fail "$3: bytes differ"; ok; }
# refused WHAT CODE COMMAND...: the command fails and its message names CODE.
refused() {
  local what="$1" code="$2"; shift 2
  if "$@" >"$W/out" 2>"$W/err"; then fail "$what: accepted"; fi
  grep -q -- "$code" "$W/err" || fail "$what: expected $code, got: $(cat "$W/err")"
  ok
}

head -c 3000001 /dev/urandom >"$W/small"
head -c $((21 * 1024 * 1024 + 5)) /dev/urandom >"$W/large"
head -c 32 /dev/urandom >"$W/ckey"

"$AWS" "${H[@]}" s3 mb s3://cli-bkt >/dev/null
"$AWS" "${H[@]}" s3 ls | grep cli-bkt >/dev/null || fail "s3 ls lists the bucket"; ok

# Every mode, a single PUT and a multipart upload, then a download of each.
modes=(none aes256 kms kms-key dsse sse-c)
for mode in "${modes[@]}"; do
  E=("${H[@]}"); up=(); down=()
  case "$mode" in
    none) ;;
    aes256) up=(--sse AES256) ;;
    kms) up=(--sse aws:kms) ;;
    kms-key) up=(--sse aws:kms --sse-kms-key-id "$KMS_KEY_ARN") ;;
    # aws CLI v1's `s3 cp --sse` has no aws:kms:dsse: s3api put-object (one PUT) instead.
    dsse) up=(--server-side-encryption aws:kms:dsse --ssekms-key-id "$KMS_KEY_ARN") ;;
    sse-c) E=("${S[@]}"); up=(--sse-c AES256 --sse-c-key "fileb://$W/ckey"); down=("${up[@]}") ;;
  esac
  for f in small large; do
    if [ "$mode" = dsse ]; then
      "$AWS" "${E[@]}" s3api put-object --bucket cli-bkt --key "$mode/$f" --body "$W/$f" "${up[@]}" >/dev/null
    else
      "$AWS" "${E[@]}" s3 cp --only-show-errors "$W/$f" "s3://cli-bkt/$mode/$f" "${up[@]}"
    fi
    "$AWS" "${E[@]}" s3 cp --only-show-errors "s3://cli-bkt/$mode/$f" "$W/$f.back" "${down[@]}"
    same "$W/$f" "$W/$f.back" "$mode/$f"
  done
  want=$(case "$mode" in none|aes256) echo AES256 ;; dsse) echo aws:kms:dsse ;; sse-c) echo null ;; *) echo aws:kms ;; esac)
  hargs=()
  [ "$mode" = sse-c ] && hargs=(--sse-customer-algorithm AES256 --sse-customer-key "fileb://$W/ckey")
  got=$("$AWS" "${E[@]}" s3api head-object --bucket cli-bkt --key "$mode/large" "${hargs[@]}" --query ServerSideEncryption --output text)
  [ "$got" = "$want" ] || [ "$want" = null -a "$got" = None ] || fail "$mode: head-object says $got, not $want"; ok
  if [ "$mode" != dsse ]; then
    parts=$("$AWS" "${E[@]}" s3api head-object --bucket cli-bkt --key "$mode/large" "${hargs[@]}" --part-number 3 --query PartsCount --output text)
    [ "$parts" = 3 ] || fail "$mode: the 21 MiB upload has 3 parts (got $parts)"; ok
  fi
  "$AWS" "${E[@]}" s3api get-object --bucket cli-bkt --key "$mode/large" --range bytes=8388600-8388700 "${hargs[@]}" "$W/range" >/dev/null
  head -c 8388701 "$W/large" | tail -c 101 >"$W/range.want"
  same "$W/range.want" "$W/range" "$mode: a range across the part boundary"
done

# Listing and recursive operations.
n=$("$AWS" "${H[@]}" s3 ls --recursive s3://cli-bkt/ | wc -l)
[ "$n" = $(( ${#modes[@]} * 2 )) ] || fail "s3 ls --recursive lists $n objects"; ok
"$AWS" "${H[@]}" s3 cp --only-show-errors s3://cli-bkt/kms/small s3://cli-bkt/copied/small --sse aws:kms --sse-kms-key-id "$KMS_ALIAS"
"$AWS" "${H[@]}" s3 cp --only-show-errors s3://cli-bkt/copied/small "$W/copied"
same "$W/small" "$W/copied" "s3 cp between keys (SSE-KMS default key to a key by alias)"

# Bucket default encryption.
"$AWS" "${H[@]}" s3api put-bucket-encryption --bucket cli-bkt --server-side-encryption-configuration \
  "{\"Rules\":[{\"ApplyServerSideEncryptionByDefault\":{\"SSEAlgorithm\":\"aws:kms\",\"KMSMasterKeyID\":\"$KMS_KEY_ARN\"}}]}"
"$AWS" "${H[@]}" s3api get-bucket-encryption --bucket cli-bkt | grep "$KMS_KEY_ARN" >/dev/null || fail "get-bucket-encryption"; ok
"$AWS" "${H[@]}" s3 cp --only-show-errors "$W/small" s3://cli-bkt/dflt
got=$("$AWS" "${H[@]}" s3api head-object --bucket cli-bkt --key dflt --query SSEKMSKeyId --output text)
[ "$got" = "$KMS_KEY_ARN" ] || fail "the bucket default key applies (got $got)"; ok
"$AWS" "${H[@]}" s3api delete-bucket-encryption --bucket cli-bkt
refused "get-bucket-encryption after delete" ServerSideEncryptionConfigurationNotFoundError \
  "$AWS" "${H[@]}" s3api get-bucket-encryption --bucket cli-bkt

# S3's refusals.
refused "unknown algorithm" InvalidArgument "$AWS" "${H[@]}" s3api put-object --bucket cli-bkt --key bad1 --body "$W/small" --server-side-encryption AES999
refused "KMS key id with AES256" InvalidArgument "$AWS" "${H[@]}" s3api put-object --bucket cli-bkt --key bad2 --body "$W/small" --server-side-encryption AES256 --ssekms-key-id "$KMS_KEY_ARN"
refused "SSE-C over plain HTTP" InvalidRequest "$AWS" "${H[@]}" s3api put-object --bucket cli-bkt --key bad3 --body "$W/small" --sse-customer-algorithm AES256 --sse-customer-key "fileb://$W/ckey"
refused "SSE-C object without its key" InvalidRequest "$AWS" "${S[@]}" s3api get-object --bucket cli-bkt --key sse-c/small "$W/x"
refused "an unknown KMS key" KMS.NotFoundException "$AWS" "${H[@]}" s3api put-object --bucket cli-bkt --key bad4 --body "$W/small" --server-side-encryption aws:kms --ssekms-key-id alias/none
for k in bad1 bad2 bad3 bad4; do
  refused "$k wrote nothing" 404 "$AWS" "${H[@]}" s3api head-object --bucket cli-bkt --key "$k"
done
AWS_SECRET_ACCESS_KEY=wrong-secret-0123456789 refused "a bad signature" SignatureDoesNotMatch "$AWS" "${H[@]}" s3 ls s3://cli-bkt

"$AWS" "${H[@]}" s3 rm --only-show-errors --recursive s3://cli-bkt/
"$AWS" "${H[@]}" s3 rb s3://cli-bkt >/dev/null
"$AWS" "${H[@]}" s3 ls | grep cli-bkt >/dev/null && fail "s3 rb removes the bucket"; ok

echo "$("$AWS" --version 2>&1): $checks checks passed"
