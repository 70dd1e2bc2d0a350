//! PutBucketEncryption bodies: no panic, no 5xx, and an accepted configuration reads back the
//! same through GetBucketEncryption's document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use s3seal_policy::{
    AliasPolicy, BucketKind, BucketPolicy, parse_bucket_encryption, put_bucket_encryption,
};

fuzz_target!(|data: &[u8]| {
    for kind in [
        BucketKind::GeneralPurpose,
        BucketKind::Directory,
        BucketKind::FsxAccessPoint,
    ] {
        let bucket = BucketPolicy::new("fuzz-bucket", kind, "111122223333", "us-east-1");
        for policy in [AliasPolicy::Warn, AliasPolicy::Refuse] {
            match put_bucket_encryption(&bucket, data, policy) {
                Ok(parsed) => {
                    let again = parse_bucket_encryption(
                        parsed.encryption.to_xml().as_bytes(),
                        AliasPolicy::Warn,
                    );
                    assert_eq!(again.map(|p| p.encryption), Ok(parsed.encryption));
                }
                Err(e) => assert!(e.s3().status.as_u16() < 500, "{e:?}"),
            }
        }
    }
});
