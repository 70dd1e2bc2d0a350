//! The PutBucketEncryption / GetBucketEncryption document.
//!
//! ```xml
//! <ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
//!   <Rule>
//!     <ApplyServerSideEncryptionByDefault>
//!       <SSEAlgorithm>aws:kms</SSEAlgorithm>            <!-- AES256 | aws:kms | aws:kms:dsse -->
//!       <KMSMasterKeyID>arn:aws:kms:…:key/…</KMSMasterKeyID>   <!-- only with aws:kms(:dsse) -->
//!     </ApplyServerSideEncryptionByDefault>
//!     <BucketKeyEnabled>true</BucketKeyEnabled>
//!     <BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes>
//!   </Rule>
//! </ServerSideEncryptionConfiguration>
//! ```
//!
//! Reading is strict: the document is capped at [`MAX_CONFIG_XML_LEN`] bytes, the root must be
//! `ServerSideEncryptionConfiguration`, there is exactly one `Rule`, unknown or repeated elements
//! are refused, and every value is checked. A `Rule` without `ApplyServerSideEncryptionByDefault`
//! means SSE-S3 (every bucket's base level); writing always spells the algorithm out.

use quick_xml::events::Event;
use s3seal_kms::KeyRef;
use serde::{Deserialize, Serialize};

use crate::algorithm::SseAlgorithm;
use crate::error::PolicyError;

/// Largest configuration document accepted, in bytes. A real one is under 1 KiB.
pub const MAX_CONFIG_XML_LEN: usize = 16 * 1024;

const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// A value of `BlockedEncryptionTypes/EncryptionType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EncryptionType {
    /// `NONE`: no encryption type is blocked.
    None,
    /// `SSE-C`: writes with customer-provided keys are refused (403); reads still work.
    SseC,
}

impl EncryptionType {
    /// The wire form.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptionType::None => "NONE",
            EncryptionType::SseC => "SSE-C",
        }
    }
}

/// A bucket's default encryption, as validated from PutBucketEncryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketEncryption {
    /// `SSEAlgorithm`: [`SseAlgorithm::Aes256`], [`SseAlgorithm::AwsKms`] or
    /// [`SseAlgorithm::AwsKmsDsse`].
    pub algorithm: SseAlgorithm,
    /// `KMSMasterKeyID`; `None` with a KMS algorithm means the AWS managed key `aws/s3`.
    pub kms_key: Option<KeyRef>,
    /// `BucketKeyEnabled` (only has an effect with `aws:kms`).
    pub bucket_key: bool,
    /// `BlockedEncryptionTypes`, if given.
    pub blocked: Option<EncryptionType>,
}

impl BucketEncryption {
    /// SSE-S3, nothing blocked: "By default, all buckets have a base level of encryption
    /// configuration that uses server-side encryption with Amazon S3 managed keys (SSE-S3)."
    #[must_use]
    pub fn sse_s3() -> Self {
        BucketEncryption {
            algorithm: SseAlgorithm::Aes256,
            kms_key: None,
            bucket_key: false,
            blocked: None,
        }
    }

    /// The configuration of a bucket created now: SSE-S3 with SSE-C blocked ("SSE-C is blocked
    /// by default on new buckets from April 2026").
    #[must_use]
    pub fn new_bucket_default() -> Self {
        BucketEncryption {
            blocked: Some(EncryptionType::SseC),
            ..BucketEncryption::sse_s3()
        }
    }

    /// Whether SSE-C writes are refused.
    #[must_use]
    pub fn blocks_sse_c(&self) -> bool {
        self.blocked == Some(EncryptionType::SseC)
    }

    /// The GetBucketEncryption document.
    #[must_use]
    pub fn to_xml(&self) -> String {
        let doc = XmlConfig {
            xmlns: Some(S3_XMLNS.to_owned()),
            rules: vec![XmlRule {
                apply: Some(XmlDefault {
                    algorithm: Some(self.algorithm.as_str().to_owned()),
                    kms_key: self.kms_key.as_ref().map(ToString::to_string),
                }),
                bucket_key: Some(if self.bucket_key { "true" } else { "false" }.to_owned()),
                blocked: self.blocked.map(|t| XmlBlocked {
                    types: vec![t.as_str().to_owned()],
                }),
            }],
        };
        // Serializing these plain string structs cannot fail; fall back to the minimal valid
        // document rather than panic.
        quick_xml::se::to_string(&doc).unwrap_or_else(|_| {
            format!(
                "<ServerSideEncryptionConfiguration xmlns=\"{S3_XMLNS}\"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>"
            )
        })
    }
}

/// What to do with a KMS alias in a configuration or request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AliasPolicy {
    /// Accept and report [`Warning::AliasResolvesInRequesterAccount`] (S3's behaviour).
    #[default]
    Warn,
    /// Refuse with [`PolicyError::AliasRefused`].
    Refuse,
}

/// Something accepted that S3's documentation warns about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Warning {
    /// "If you use a KMS key alias instead, then AWS KMS resolves the key within the requester's
    /// account. This behavior can result in data that's encrypted with a KMS key that belongs to
    /// the requester, and not the bucket owner."
    AliasResolvesInRequesterAccount,
    /// A bare key id: "If you are using encryption with cross-account or AWS service operations
    /// you must use a fully qualified KMS key ARN."
    KeyIdNotFullyQualified,
}

/// Applies the alias policy to `key`, collecting warnings.
///
/// # Errors
/// [`PolicyError::AliasRefused`] for an alias under [`AliasPolicy::Refuse`].
pub(crate) fn check_alias(
    key: &KeyRef,
    policy: AliasPolicy,
    warnings: &mut Vec<Warning>,
) -> Result<(), PolicyError> {
    if key.is_alias() {
        if policy == AliasPolicy::Refuse {
            return Err(PolicyError::AliasRefused);
        }
        warnings.push(Warning::AliasResolvesInRequesterAccount);
    } else if !key.is_fully_qualified() {
        warnings.push(Warning::KeyIdNotFullyQualified);
    }
    Ok(())
}

/// A parsed configuration and the warnings it raised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedConfig {
    /// The configuration.
    pub encryption: BucketEncryption,
    /// Accepted but discouraged choices (aliases, bare key ids).
    pub warnings: Vec<Warning>,
}

/// Parses and validates a PutBucketEncryption body (bucket-kind rules are checked by
/// [`crate::put_bucket_encryption`]).
///
/// # Errors
/// [`PolicyError::XmlTooLarge`] over [`MAX_CONFIG_XML_LEN`]; [`PolicyError::MalformedXml`] for
/// bad XML, a wrong root, not exactly one `Rule`, unknown/repeated elements, a missing or unknown
/// `SSEAlgorithm`, a bad `BucketKeyEnabled` or `EncryptionType`;
/// [`PolicyError::KmsKeyIdNotApplicable`] for `KMSMasterKeyID` without a KMS algorithm;
/// [`PolicyError::KmsKeyNotFound`] for a malformed key id; [`PolicyError::AliasRefused`];
/// [`PolicyError::BucketKeyWithDsse`].
pub fn parse_bucket_encryption(
    xml: &[u8],
    alias_policy: AliasPolicy,
) -> Result<ParsedConfig, PolicyError> {
    if xml.len() > MAX_CONFIG_XML_LEN {
        return Err(PolicyError::XmlTooLarge);
    }
    let text = core::str::from_utf8(xml).map_err(|_| malformed("not UTF-8"))?;
    check_structure(text)?;
    let doc: XmlConfig =
        quick_xml::de::from_str(text).map_err(|e| PolicyError::MalformedXml(e.to_string()))?;
    let [rule] = <[XmlRule; 1]>::try_from(doc.rules)
        .map_err(|_| malformed("exactly one Rule is required"))?;
    let mut warnings = Vec::new();

    // "SSEAlgorithm … Valid Values: AES256 | aws:kms | aws:kms:dsse … Required: Yes"
    let (algorithm, kms_key) = match rule.apply {
        None => (SseAlgorithm::Aes256, None),
        Some(d) => {
            let alg = match d.algorithm.as_deref() {
                None => return Err(malformed("SSEAlgorithm is required")),
                Some("AES256") => SseAlgorithm::Aes256,
                Some("aws:kms") => SseAlgorithm::AwsKms,
                Some("aws:kms:dsse") => SseAlgorithm::AwsKmsDsse,
                Some(_) => return Err(malformed("SSEAlgorithm is not a valid value")),
            };
            // "This parameter is allowed if and only if SSEAlgorithm is set to aws:kms or
            // aws:kms:dsse." An empty element counts as absent.
            let key = match d.kms_key.as_deref() {
                None | Some("") => None,
                Some(_) if !alg.is_kms() => return Err(PolicyError::KmsKeyIdNotApplicable),
                Some(s) => {
                    let key = KeyRef::parse(s).map_err(|_| PolicyError::KmsKeyNotFound)?;
                    check_alias(&key, alias_policy, &mut warnings)?;
                    Some(key)
                }
            };
            (alg, key)
        }
    };
    let bucket_key = match rule.bucket_key.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(malformed("BucketKeyEnabled must be true or false")),
    };
    // DSSE-KMS: "bucket keys not supported".
    if bucket_key && algorithm == SseAlgorithm::AwsKmsDsse {
        return Err(PolicyError::BucketKeyWithDsse);
    }
    let blocked = match rule.blocked {
        None => None,
        Some(b) => match b.types.as_slice() {
            [t] if t == "NONE" => Some(EncryptionType::None),
            [t] if t == "SSE-C" => Some(EncryptionType::SseC),
            _ => {
                return Err(malformed(
                    "BlockedEncryptionTypes must hold one EncryptionType: NONE or SSE-C",
                ));
            }
        },
    };
    Ok(ParsedConfig {
        encryption: BucketEncryption {
            algorithm,
            kms_key,
            bucket_key,
            blocked,
        },
        warnings,
    })
}

fn malformed(why: &str) -> PolicyError {
    PolicyError::MalformedXml(why.to_owned())
}

/// Deepest element nesting accepted; a real document nests four deep.
const MAX_DEPTH: usize = 8;

/// What the serde mapping does not check, by one pass of the pull reader: one root element named
/// `ServerSideEncryptionConfiguration`, nothing after it, no DOCTYPE, at most [`MAX_DEPTH`] deep.
fn check_structure(text: &str) -> Result<(), PolicyError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0usize;
    let mut roots = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| PolicyError::MalformedXml(e.to_string()))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) if depth == 0 => {
                roots += 1;
                if roots > 1 || e.local_name().into_inner() != "ServerSideEncryptionConfiguration" {
                    return Err(malformed(
                        "one ServerSideEncryptionConfiguration root is required",
                    ));
                }
                depth = usize::from(matches!(event, Event::Start(_)));
            }
            Event::Start(_) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(malformed("elements nested too deep"));
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(t) if depth == 0 && !t.as_ref().trim().is_empty() => {
                return Err(malformed("text outside the root element"));
            }
            Event::DocType(_) => return Err(malformed("DOCTYPE is not allowed")),
            Event::Eof => {
                return if roots == 1 {
                    Ok(())
                } else {
                    Err(malformed("empty document"))
                };
            }
            _ => {}
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename = "ServerSideEncryptionConfiguration", deny_unknown_fields)]
struct XmlConfig {
    #[serde(rename = "@xmlns", default, skip_serializing_if = "Option::is_none")]
    xmlns: Option<String>,
    #[serde(rename = "Rule", default)]
    rules: Vec<XmlRule>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct XmlRule {
    #[serde(
        rename = "ApplyServerSideEncryptionByDefault",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    apply: Option<XmlDefault>,
    #[serde(
        rename = "BucketKeyEnabled",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    bucket_key: Option<String>,
    #[serde(
        rename = "BlockedEncryptionTypes",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    blocked: Option<XmlBlocked>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct XmlDefault {
    #[serde(rename = "SSEAlgorithm", default)]
    algorithm: Option<String>,
    #[serde(
        rename = "KMSMasterKeyID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    kms_key: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct XmlBlocked {
    #[serde(rename = "EncryptionType", default)]
    types: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn doc(rule: &str) -> String {
        format!(
            "<ServerSideEncryptionConfiguration xmlns=\"{S3_XMLNS}\"><Rule>{rule}</Rule></ServerSideEncryptionConfiguration>"
        )
    }

    fn parse(xml: &str) -> Result<BucketEncryption, PolicyError> {
        parse_bucket_encryption(xml.as_bytes(), AliasPolicy::Warn).map(|p| p.encryption)
    }

    fn is_malformed(r: Result<BucketEncryption, PolicyError>) -> bool {
        matches!(r, Err(PolicyError::MalformedXml(_)))
    }

    #[test]
    fn round_trips_every_shape() {
        let shapes = [
            BucketEncryption::sse_s3(),
            BucketEncryption::new_bucket_default(),
            BucketEncryption {
                algorithm: SseAlgorithm::AwsKms,
                kms_key: Some(KeyRef::parse(ARN).unwrap()),
                bucket_key: true,
                blocked: Some(EncryptionType::None),
            },
            BucketEncryption {
                algorithm: SseAlgorithm::AwsKms,
                kms_key: None,
                bucket_key: false,
                blocked: None,
            },
            BucketEncryption {
                algorithm: SseAlgorithm::AwsKmsDsse,
                kms_key: Some(KeyRef::parse("alias/x").unwrap()),
                bucket_key: false,
                blocked: Some(EncryptionType::SseC),
            },
        ];
        for enc in shapes {
            let xml = enc.to_xml();
            assert!(
                xml.starts_with("<ServerSideEncryptionConfiguration"),
                "{xml}"
            );
            assert_eq!(parse(&xml).unwrap(), enc, "{xml}");
        }
    }

    #[test]
    fn reads_the_aws_documentation_example() {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ServerSideEncryptionConfiguration xmlns=\"{S3_XMLNS}\">\n  <Rule>\n    <ApplyServerSideEncryptionByDefault>\n      <SSEAlgorithm>aws:kms</SSEAlgorithm>\n      <KMSMasterKeyID>{ARN}</KMSMasterKeyID>\n    </ApplyServerSideEncryptionByDefault>\n    <BucketKeyEnabled>true</BucketKeyEnabled>\n  </Rule>\n</ServerSideEncryptionConfiguration>\n"
        );
        let enc = parse(&xml).unwrap();
        assert_eq!(enc.algorithm, SseAlgorithm::AwsKms);
        assert!(enc.bucket_key);
        assert_eq!(enc.kms_key.unwrap().to_string(), ARN);
    }

    #[test]
    fn rule_without_default_is_sse_s3_and_empty_key_is_absent() {
        let enc = parse(&doc("<BucketKeyEnabled>false</BucketKeyEnabled>")).unwrap();
        assert_eq!(enc, BucketEncryption::sse_s3());
        let enc = parse(&doc(
            "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm><KMSMasterKeyID></KMSMasterKeyID></ApplyServerSideEncryptionByDefault>",
        ))
        .unwrap();
        assert_eq!(enc.kms_key, None);
    }

    #[test]
    fn warnings_for_aliases_and_bare_ids() {
        let p = |k: &str, pol| {
            parse_bucket_encryption(
                doc(&format!("<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>{k}</KMSMasterKeyID></ApplyServerSideEncryptionByDefault>")).as_bytes(),
                pol,
            )
        };
        assert_eq!(
            p("alias/a", AliasPolicy::Warn).unwrap().warnings,
            [Warning::AliasResolvesInRequesterAccount]
        );
        assert_eq!(
            p("1234abcd-12ab-34cd-56ef-1234567890ab", AliasPolicy::Refuse)
                .unwrap()
                .warnings,
            [Warning::KeyIdNotFullyQualified]
        );
        assert!(p(ARN, AliasPolicy::Refuse).unwrap().warnings.is_empty());
        assert_eq!(
            p(
                "arn:aws:kms:us-east-2:111122223333:alias/a",
                AliasPolicy::Refuse
            ),
            Err(PolicyError::AliasRefused)
        );
    }

    #[test]
    fn hostile_documents_are_clear_errors() {
        let alg = |a: &str| {
            format!(
                "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>{a}</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
            )
        };
        let bad: Vec<String> = vec![
            String::new(),
            "not xml".into(),
            "<ServerSideEncryptionConfiguration>".into(),
            "<ServerSideEncryptionConfiguration></ServerSideEncryptionConfiguration>".into(),
            "<Other><Rule/></Other>".into(),
            format!("<!DOCTYPE x [<!ENTITY a \"b\">]>{}", doc(&alg("AES256"))),
            doc(&alg("&a;")),
            doc(&format!("{}{}", alg("AES256"), alg("AES256"))),
            doc(
                "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm><SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault>",
            ),
            doc("<ApplyServerSideEncryptionByDefault/>"),
            doc(&alg("aws:fsx")),
            doc(&alg("aes256")),
            doc(&format!("{}<Surprise/>", alg("AES256"))),
            doc(&format!(
                "{}<BucketKeyEnabled>yes</BucketKeyEnabled>",
                alg("AES256")
            )),
            doc(&format!(
                "{}<BucketKeyEnabled>true</BucketKeyEnabled><BucketKeyEnabled>true</BucketKeyEnabled>",
                alg("AES256")
            )),
            doc("<BlockedEncryptionTypes></BlockedEncryptionTypes>"),
            doc(
                "<BlockedEncryptionTypes><EncryptionType>SSE-KMS</EncryptionType></BlockedEncryptionTypes>",
            ),
            doc(
                "<BlockedEncryptionTypes><EncryptionType>NONE</EncryptionType><EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes>",
            ),
            format!("{}{}", doc(&alg("AES256")), "<Rule/>"),
            format!(
                "<ServerSideEncryptionConfiguration><Rule>{}</Rule><Rule>{}</Rule></ServerSideEncryptionConfiguration>",
                alg("AES256"),
                alg("AES256")
            ),
            format!(
                "<ServerSideEncryptionConfiguration>{}</ServerSideEncryptionConfiguration>",
                "<a>".repeat(2000) + &"</a>".repeat(2000)
            ),
            doc(&format!("{}{}", "<x>".repeat(1500), "</x>".repeat(1500))),
        ];
        for xml in &bad {
            assert!(is_malformed(parse(xml)), "{xml:.200}: {:?}", parse(xml));
        }
        let big = doc(&format!(
            "{}<!--{}-->",
            alg("AES256"),
            "x".repeat(MAX_CONFIG_XML_LEN)
        ));
        assert_eq!(parse(&big), Err(PolicyError::XmlTooLarge));
        assert!(is_malformed(
            parse_bucket_encryption(&[0xff, 0xfe, b'<'], AliasPolicy::Warn).map(|p| p.encryption)
        ));
    }

    #[test]
    fn key_id_rules() {
        let with_key = |a: &str, k: &str| {
            doc(&format!(
                "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>{a}</SSEAlgorithm><KMSMasterKeyID>{k}</KMSMasterKeyID></ApplyServerSideEncryptionByDefault>"
            ))
        };
        assert_eq!(
            parse(&with_key("AES256", ARN)),
            Err(PolicyError::KmsKeyIdNotApplicable)
        );
        assert_eq!(
            parse(&with_key("aws:kms", "nope")),
            Err(PolicyError::KmsKeyNotFound)
        );
        assert!(parse(&with_key("aws:kms:dsse", ARN)).is_ok());
        assert_eq!(
            parse(&doc(
                "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms:dsse</SSEAlgorithm></ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled>"
            )),
            Err(PolicyError::BucketKeyWithDsse)
        );
    }
}
