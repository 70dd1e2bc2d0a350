//! `AwsKms` against a scripted KMS-API server on loopback: every AWS KMS error code maps to its
//! `KmsError`, throttling and transient errors are retried (and nothing else), timeouts are
//! bounded, our own checks hold where a server is lenient, and calls from inside tokio
//! runtimes neither panic nor deadlock. (moto cannot be made to answer most of these errors;
//! `tests/aws_moto.rs` runs the conformance suite against it.)
#![expect(clippy::unwrap_used, reason = "tests unwrap to fail loudly")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use s3seal_kms::{
    AwsCredentials, AwsKms, AwsKmsConfig, AwsKmsError, EncryptionContext, KeyRef, Kms, KmsError,
    Requester,
};

const ACCT: &str = "111122223333";
const ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const OTHER_ARN: &str =
    "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// What the scripted server answers to every request.
#[derive(Clone)]
enum Answer {
    /// HTTP status and JSON body.
    Json(u16, String),
    /// Accept, read the request, never answer.
    Hang,
}

struct Scripted {
    port: u16,
    requests: Arc<AtomicUsize>,
    bodies: Arc<std::sync::Mutex<Vec<String>>>,
}

fn read_request(s: &mut TcpStream) -> Option<String> {
    let mut r = BufReader::new(s.try_clone().ok()?);
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end().to_ascii_lowercase();
        if let Some(v) = l.strip_prefix("content-length:") {
            len = v.trim().parse().ok()?;
        }
        if l.is_empty() {
            break;
        }
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    String::from_utf8(body).ok()
}

fn scripted(answer: Answer) -> Scripted {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let bodies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (n, b) = (requests.clone(), bodies.clone());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let answer = answer.clone();
            let (n, b) = (n.clone(), b.clone());
            std::thread::spawn(move || {
                while let Some(body) = read_request(&mut s) {
                    n.fetch_add(1, Ordering::SeqCst);
                    b.lock().unwrap().push(body);
                    match &answer {
                        Answer::Json(status, json) => {
                            let head = format!(
                                "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\n\
                                 Content-Length: {}\r\nx-amzn-RequestId: r\r\n\r\n",
                                json.len()
                            );
                            if s.write_all(head.as_bytes()).is_err()
                                || s.write_all(json.as_bytes()).is_err()
                            {
                                return;
                            }
                        }
                        Answer::Hang => std::thread::sleep(Duration::from_secs(30)),
                    }
                }
            });
        }
    });
    Scripted {
        port,
        requests,
        bodies,
    }
}

fn config(port: u16) -> AwsKmsConfig {
    AwsKmsConfig::new()
        .endpoint(&format!("http://127.0.0.1:{port}"))
        .region("us-east-1")
        .credentials(AwsCredentials::fixed("AKIDEXAMPLE", "secret"))
        .attempt_timeout(Duration::from_millis(500))
        .operation_timeout(Duration::from_secs(3))
        .max_attempts(3)
        .backoff(Duration::from_millis(5), Duration::from_millis(20))
}

fn kms_for(s: &Scripted) -> AwsKms {
    AwsKms::new(config(s.port)).unwrap()
}

fn error_json(code: &str, message: &str) -> Answer {
    Answer::Json(
        400,
        format!(r#"{{"__type":"{code}","message":"{message}"}}"#),
    )
}

fn requester() -> Requester {
    Requester::new(ACCT).unwrap()
}

fn ctx() -> EncryptionContext {
    EncryptionContext::for_object("bkt", "obj")
}

fn generate(kms: &AwsKms) -> Result<s3seal_kms::GeneratedDataKey, KmsError> {
    kms.generate_data_key(&KeyRef::parse(ARN).unwrap(), &requester(), &ctx())
}

#[test]
fn every_kms_error_code_maps_to_its_variant_without_retries() {
    type Case = (&'static str, &'static str, fn(&KmsError) -> bool);
    let cases: Vec<Case> = vec![
        (
            "NotFoundException",
            "nope",
            |e| matches!(e, KmsError::NotFound(k) if k == ARN),
        ),
        (
            "DisabledException",
            "disabled",
            |e| matches!(e, KmsError::Disabled(k) if k == ARN),
        ),
        (
            "KMSInvalidStateException",
            "arn:... is pending deletion.",
            |e| matches!(e, KmsError::PendingDeletion(_)),
        ),
        ("KMSInvalidStateException", "is pending import", |e| {
            matches!(e, KmsError::InvalidState(_))
        }),
        ("InvalidCiphertextException", "", |e| {
            *e == KmsError::InvalidCiphertext
        }),
        ("IncorrectKeyException", "", |e| {
            *e == KmsError::IncorrectKey
        }),
        ("AccessDeniedException", "no", |e| {
            matches!(e, KmsError::AccessDenied(_))
        }),
        ("InvalidKeyUsageException", "asymmetric", |e| {
            matches!(e, KmsError::InvalidArgument(_))
        }),
        ("ValidationException", "bad", |e| {
            matches!(e, KmsError::InvalidArgument(_))
        }),
        ("InvalidArnException", "bad", |e| {
            matches!(e, KmsError::InvalidKeyId(_))
        }),
        ("UnrecognizedClientException", "bad token", |e| {
            e.other_error()
                .and_then(|o| o.downcast_ref::<AwsKmsError>())
                .is_some_and(|a| {
                    matches!(a, AwsKmsError::Service { code, .. } if code == "UnrecognizedClientException")
                })
        }),
    ];
    for (code, message, check) in cases {
        let s = scripted(error_json(code, message));
        let kms = kms_for(&s);
        let e = generate(&kms).unwrap_err();
        assert!(check(&e), "{code}: {e:?}");
        assert!(!e.is_retryable(), "{code}");
        assert_eq!(s.requests.load(Ordering::SeqCst), 1, "{code}: not retried");
    }
}

#[test]
fn throttling_and_server_errors_are_retried_then_reported() {
    for (answer, want) in [
        (
            error_json("ThrottlingException", "slow down"),
            KmsError::Throttled,
        ),
        (
            Answer::Json(
                500,
                r#"{"__type":"KMSInternalException","message":"x"}"#.to_owned(),
            ),
            KmsError::Unavailable,
        ),
        (
            Answer::Json(
                503,
                r#"{"__type":"DependencyTimeoutException","message":"x"}"#.to_owned(),
            ),
            KmsError::Unavailable,
        ),
        (
            Answer::Json(502, r#"{"__type":"SomethingNew"}"#.to_owned()),
            KmsError::Unavailable,
        ),
    ] {
        let s = scripted(answer);
        let e = generate(&kms_for(&s)).unwrap_err();
        assert_eq!(e, want);
        assert!(e.is_retryable());
        assert_eq!(s.requests.load(Ordering::SeqCst), 3, "{want:?}: 3 attempts");
    }
}

#[test]
fn no_server_and_a_silent_server_are_unavailable_within_the_timeouts() {
    // Nothing listens on the port any more.
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let kms = AwsKms::new(config(port)).unwrap();
    let t = Instant::now();
    assert_eq!(generate(&kms).unwrap_err(), KmsError::Unavailable);
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());

    let s = scripted(Answer::Hang);
    let kms = kms_for(&s);
    let t = Instant::now();
    assert_eq!(generate(&kms).unwrap_err(), KmsError::Unavailable);
    let took = t.elapsed();
    // 3 attempts of 500 ms, within the 3 s operation timeout.
    assert!(took >= Duration::from_millis(1400), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(s.requests.load(Ordering::SeqCst), 3);
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[test]
fn answers_are_checked_on_our_side() {
    // A decrypt answer naming another key than the one asserted: IncorrectKey, even though the
    // server let it through.
    let ok = format!(
        r#"{{"KeyId":"{OTHER_ARN}","Plaintext":"{}","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}}"#,
        b64(&[7; 32])
    );
    let s = scripted(Answer::Json(200, ok));
    let kms = kms_for(&s);
    assert_eq!(
        kms.decrypt(b"blob", &ctx(), Some(ARN)).unwrap_err(),
        KmsError::IncorrectKey
    );
    // The expected key id and the context went over the wire.
    let sent = s.bodies.lock().unwrap()[0].clone();
    assert!(sent.contains(ARN) && sent.contains("aws:s3:arn"), "{sent}");
    let d = kms.decrypt(b"blob", &ctx(), None).unwrap();
    assert_eq!(d.key_arn, OTHER_ARN);
    assert_eq!(d.plaintext.as_bytes(), &[7; 32]);
    // An empty blob never leaves the process.
    let before = s.requests.load(Ordering::SeqCst);
    assert_eq!(
        kms.decrypt(b"", &ctx(), None).unwrap_err(),
        KmsError::InvalidCiphertext
    );
    assert_eq!(s.requests.load(Ordering::SeqCst), before);

    // A generate answer with a key of another account under the bucket-owner rule is refused;
    // one with a plaintext that is not 256 bits is not a data key.
    let answer = format!(
        r#"{{"KeyId":"{OTHER_ARN}","Plaintext":"{}","CiphertextBlob":"{}"}}"#,
        b64(&[1; 32]),
        b64(b"wrapped")
    );
    let s = scripted(Answer::Json(200, answer));
    let kms = kms_for(&s);
    let strict = requester().require_bucket_owner_key(ACCT).unwrap();
    let e = kms
        .generate_data_key(&KeyRef::parse("alias/app").unwrap(), &strict, &ctx())
        .unwrap_err();
    assert!(
        matches!(e, KmsError::AccessDenied(ref k) if k == OTHER_ARN),
        "{e:?}"
    );
    let sent = s.bodies.lock().unwrap()[0].clone();
    assert!(sent.contains(r#""KeySpec":"AES_256""#), "{sent}");
    let g = generate(&kms).unwrap();
    assert_eq!(g.ciphertext_blob, b"wrapped");
    assert!(!format!("{g:?}").contains(&hex::encode([1u8; 32])));

    let short = format!(
        r#"{{"KeyId":"{ARN}","Plaintext":"{}","CiphertextBlob":"{}"}}"#,
        b64(&[1; 16]),
        b64(b"wrapped")
    );
    let s = scripted(Answer::Json(200, short));
    assert_eq!(
        generate(&kms_for(&s)).unwrap_err(),
        KmsError::InvalidCiphertext
    );
    let not_arn = format!(
        r#"{{"KeyId":"alias/x","Plaintext":"{}","CiphertextBlob":"{}"}}"#,
        b64(&[1; 32]),
        b64(b"w")
    );
    let s = scripted(Answer::Json(200, not_arn));
    assert!(matches!(
        generate(&kms_for(&s)).unwrap_err(),
        KmsError::Other(_)
    ));
}

#[test]
fn bare_references_of_a_foreign_requester_are_sent_in_its_account() {
    let s = scripted(error_json("NotFoundException", "x"));
    let kms = AwsKms::new(config(s.port).account(ACCT)).unwrap();
    let foreign = Requester::new("444455556666").unwrap();
    for (r, sent) in [
        ("alias/app", "arn:aws:kms:us-east-1:444455556666:alias/app"),
        (
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
    ] {
        let _ = kms.describe_key(&KeyRef::parse(r).unwrap(), &foreign);
        let _ = kms.describe_key(&KeyRef::parse(r).unwrap(), &requester());
        let bodies = s.bodies.lock().unwrap().clone();
        let n = bodies.len();
        assert!(bodies[n - 2].contains(sent), "{}", bodies[n - 2]);
        assert!(
            bodies[n - 1].contains(&format!(r#""KeyId":"{r}""#)),
            "{}",
            bodies[n - 1]
        );
    }
}

#[test]
fn credentials_are_redacted_and_bad_settings_refused() {
    let c = AwsCredentials::fixed("AKIDEXAMPLE", "wJalrXUtnFEMI");
    let d = format!("{:?}", config(1).credentials(c));
    assert!(
        d.contains("AKIDEXAMPLE") && !d.contains("wJalrXUtnFEMI"),
        "{d}"
    );
    assert!(AwsKms::new(config(1).account("12")).is_err());
}

#[test]
fn async_callers_neither_panic_nor_deadlock() {
    let answer = format!(
        r#"{{"KeyId":"{ARN}","Plaintext":"{}","CiphertextBlob":"{}"}}"#,
        b64(&[1; 32]),
        b64(b"wrapped")
    );
    let s = scripted(Answer::Json(200, answer));
    let kms = Arc::new(kms_for(&s));
    // On a worker of a multi-threaded runtime (moved off with block_in_place).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let k = kms.clone();
    let r = rt.block_on(async move { tokio::spawn(async move { generate(&k) }).await });
    assert!(r.unwrap().is_ok());
    // From a current-thread runtime's blocking pool (the documented way), and on its own
    // thread (works, stalling only that runtime for the request).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let k = kms.clone();
    let r = rt.block_on(async move { tokio::task::spawn_blocking(move || generate(&k)).await });
    assert!(r.unwrap().is_ok());
    let k = kms.clone();
    assert!(rt.block_on(async move { generate(&k) }).is_ok());
    // Dropping the client inside a runtime does not panic.
    let k = Arc::try_unwrap(kms).unwrap();
    rt.block_on(async move { drop(k) });
}

#[test]
fn describe_key_metadata_maps_states_and_the_key_manager() {
    let answer = format!(
        r#"{{"KeyMetadata":{{"AWSAccountId":"{ACCT}","KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab",
        "Arn":"{ARN}","CreationDate":1.7E9,"Enabled":false,"Description":"d",
        "KeyState":"PendingDeletion","DeletionDate":1.8E9,"KeyManager":"AWS"}}}}"#
    );
    let s = scripted(Answer::Json(200, answer));
    let m = kms_for(&s)
        .describe_key(&KeyRef::parse("alias/aws/s3").unwrap(), &requester())
        .unwrap();
    assert_eq!(m.arn, ARN);
    assert_eq!(m.account, ACCT);
    assert_eq!(m.region, "us-east-1");
    assert_eq!(m.state, s3seal_kms::KeyState::PendingDeletion);
    assert!(m.aws_managed);
    assert!(m.deletion_date.is_some());
    assert_eq!(m.description, "d");
}

#[test]
fn missing_credentials_are_a_client_error_and_nothing_is_sent() {
    let s = scripted(error_json("NotFoundException", "x"));
    let kms = AwsKms::new(config(s.port).credentials(AwsCredentials::Profile(Some(
        "s3seal-test-no-such-profile".to_owned(),
    ))))
    .unwrap();
    let e = generate(&kms).unwrap_err();
    let inner = e
        .other_error()
        .and_then(|o| o.downcast_ref::<AwsKmsError>())
        .cloned();
    assert!(
        matches!(inner, Some(AwsKmsError::Client(ref m)) if !m.is_empty()),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert_eq!(s.requests.load(Ordering::SeqCst), 0);
}
