//! The tamper matrix: named mutation classes, each applied to every real evidence it fits
//! (milan-v2 as v1, milan-v3 v0, milan-v3-userdata v2, genoa-v3 v0), each refused with its
//! specific check and the typed error underneath.
//!
//! What the order of checks decides: the chain and the VCEK <-> report binding (hwID, TCB,
//! signing key) come before the report signature, so a changed `reported_tcb` or `chip_id` is
//! a VCEK-binding failure while any other signed byte is a report-signature failure; the
//! report_data binding covers every byte of the runtime claims (AK, user-data); the
//! qualifiedSigner check comes before the quote signature.
//!
//! Certificates no real pair exists for come from the test PKI: a VCEK for a real chip at
//! another TCB chains to the test ARK, not AMD's, so that class runs with the test PKI's anchors
//! (the chain passes and the TCB binding must refuse it); under AMD's anchors the same VCEK is
//! refused by the chain, which is its own class.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use hcl_parse::{Generation, HclReport, TcbComponents};
use snp_verify::UnixTime;
use snp_vtpm::vtpm_quote::HashAlg;
use snp_vtpm::{
    Certificates, Check, Error, Evidence, EvidencePolicy, EvidenceVersion, ExpectedNonce, Verifier,
    VerifyOptions,
};
use snp_vtpm_testkit::evidence::{REAL_EVIDENCE_TIME, RealEvidence, real_evidence};
use snp_vtpm_testkit::pki::{LeafSpec, TestPki};
use snp_vtpm_testkit::vectors;

const TIME: UnixTime = UnixTime::from_secs(REAL_EVIDENCE_TIME);
/// Offset of the SNP report inside the HCL report.
const SNP: usize = 0x20;
/// Offset of the runtime claims inside the HCL report (request-data version 1).
const CLAIMS: usize = 0x4D4;

/// Which roots the verifier trusts in a case.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Anchors {
    Amd,
    TestPki,
}

/// Everything a mutation may change.
struct Case {
    evidence: Evidence,
    /// When set, the evidence is read from this JSON instead (format-level mutations).
    json: Option<Vec<u8>>,
    nonce: Vec<u8>,
    certificates: Certificates,
    options: VerifyOptions,
    anchors: Anchors,
}

type Mutate = Box<dyn Fn(&RealEvidence, &mut Case) -> bool>;

/// A mutation class: what it does, and the check and typed cause that must refuse it.
struct Class {
    name: String,
    check: Check,
    /// A substring of the `Debug` form of [`Error::cause`] (the variant and its values).
    cause: &'static str,
    /// Applies the mutation; `false` when it does not fit this evidence.
    mutate: Mutate,
}

fn class(
    name: impl Into<String>,
    check: Check,
    cause: &'static str,
    mutate: impl Fn(&RealEvidence, &mut Case) -> bool + 'static,
) -> Class {
    Class {
        name: name.into(),
        check,
        cause,
        mutate: Box::new(mutate),
    }
}

fn verify(case: &Case) -> Result<(), Error> {
    let parsed;
    let evidence = match &case.json {
        Some(json) => {
            parsed = Evidence::from_json(json, snp_vtpm::DEFAULT_SIZE_LIMIT)?;
            &parsed
        }
        None => &case.evidence,
    };
    let policy = EvidencePolicy::preset("azure-cvm").unwrap();
    let verifier = match case.anchors {
        Anchors::Amd => Verifier::new(policy),
        Anchors::TestPki => Verifier::with_anchors(TestPki::shared().trust_anchors(), policy),
    };
    verifier
        .verify(
            evidence,
            ExpectedNonce::Exactly(&case.nonce),
            &case.certificates,
            &case.options,
        )
        .map(|_| ())
}

/// XORs one byte of the HCL report.
fn flip_hcl(offset: usize, mask: u8) -> impl Fn(&RealEvidence, &mut Case) -> bool {
    move |_, case| {
        case.evidence.hcl_report[offset] ^= mask;
        true
    }
}

/// Writes a little-endian u32 into the HCL report.
fn set_hcl_u32(offset: usize, value: u32) -> impl Fn(&RealEvidence, &mut Case) -> bool {
    move |_, case| {
        case.evidence.hcl_report[offset..offset + 4].copy_from_slice(&value.to_le_bytes());
        true
    }
}

fn snp_version(sample: &RealEvidence) -> u32 {
    HclReport::parse(&sample.evidence.hcl_report)
        .unwrap()
        .snp_report()
        .unwrap()
        .version()
}

/// (name, offset, length) of every field of TPMS_ATTEST in a real quote.
fn quote_fields(message: &[u8]) -> Vec<(&'static str, usize, usize)> {
    let u16_at = |at: usize| usize::from(u16::from_be_bytes([message[at], message[at + 1]]));
    let signer = u16_at(6);
    let extra_at = 8 + signer;
    let extra = u16_at(extra_at);
    let clock_at = extra_at + 2 + extra;
    let firmware_at = clock_at + 17;
    let count_at = firmware_at + 8;
    let select_size = usize::from(message[count_at + 6]);
    let digest_at = count_at + 7 + select_size;
    vec![
        ("magic", 0, 4),
        ("type", 4, 2),
        ("qualifiedSigner size", 6, 2),
        ("qualifiedSigner", 8, signer),
        ("extraData size", extra_at, 2),
        ("extraData (the nonce)", extra_at + 2, extra),
        ("clock", clock_at, 8),
        ("resetCount", clock_at + 8, 4),
        ("restartCount", clock_at + 12, 4),
        ("safe", clock_at + 16, 1),
        ("firmwareVersion", firmware_at, 8),
        ("PCR selection count", count_at, 4),
        ("PCR selection hash", count_at + 4, 2),
        ("PCR selection size", count_at + 6, 1),
        ("PCR selection bitmap", count_at + 7, select_size),
        ("pcrDigest size", digest_at, 2),
        ("pcrDigest", digest_at + 2, u16_at(digest_at)),
    ]
}

/// The position of `needle` inside the runtime claims, as an HCL report offset.
fn claims_offset(sample: &RealEvidence, needle: &str) -> usize {
    let claims = HclReport::parse(&sample.evidence.hcl_report)
        .unwrap()
        .runtime_claims_bytes()
        .to_vec();
    let at = claims
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap_or_else(|| panic!("{}: no {needle} in the claims", sample.name));
    CLAIMS + at + needle.len()
}

/// A VCEK from the test PKI for this evidence's chip with `tcb` changed as `change` says.
fn test_vcek(sample: &RealEvidence, change: impl Fn(&mut TcbComponents)) -> Vec<u8> {
    let hcl = HclReport::parse(&sample.evidence.hcl_report).unwrap();
    let report = hcl.snp_report().unwrap();
    let generation = sample.generation;
    let mut tcb = report.reported_tcb().components(generation);
    change(&mut tcb);
    let chip = &report.chip_id()[..generation.hwid_len()];
    TestPki::shared()
        .issue_leaf(&LeafSpec::vcek(generation, chip, tcb))
        .der
}

fn test_chain(generation: Generation) -> Certificates {
    let mut certificates = Certificates::default();
    certificates
        .add_file(
            TestPki::shared()
                .product(generation)
                .vcek_chain_pem()
                .as_bytes(),
        )
        .unwrap();
    certificates
}

/// Replaces the VCEK the verifier will use.
fn set_vcek(case: &mut Case, der: Vec<u8>) {
    case.certificates.leaves = vec![der];
    case.evidence.vcek = None;
}

/// Edits the native JSON of the evidence with `edit` (on the text).
fn json_edit(
    edit: impl Fn(String) -> String + 'static,
) -> impl Fn(&RealEvidence, &mut Case) -> bool {
    move |_, case| {
        let text = String::from_utf8(case.evidence.to_json()).unwrap();
        let edited = edit(text.clone());
        assert_ne!(edited, text, "the JSON edit changed nothing");
        case.json = Some(edited.into_bytes());
        true
    }
}

/// Replaces the character at the middle of the string value of `key` with `with`.
fn corrupt_json_string(text: String, key: &str, with: char) -> String {
    let start = text.find(&format!("\"{key}\": \"")).unwrap() + key.len() + 5;
    let end = start + text[start..].find('"').unwrap();
    let middle = (start + end) / 2;
    let mut out = text;
    out.replace_range(middle..middle + 1, &with.to_string());
    out
}

fn classes() -> Vec<Class> {
    use Check::*;
    let mut all = Vec::new();

    // --- The signed SNP report, region by region (first byte of each, XOR 1). ---
    let regions: [(&str, usize, Check, &str); 28] = [
        ("guest_svn", 0x04, ReportSignature, "BadReportSignature"),
        (
            "policy (ABI minor)",
            0x08,
            ReportSignature,
            "BadReportSignature",
        ),
        ("family_id", 0x10, ReportSignature, "BadReportSignature"),
        ("image_id", 0x20, ReportSignature, "BadReportSignature"),
        ("vmpl", 0x30, ReportSignature, "BadReportSignature"),
        ("current_tcb", 0x38, ReportSignature, "BadReportSignature"),
        ("platform_info", 0x40, ReportSignature, "BadReportSignature"),
        (
            "key_info (author key bit)",
            0x48,
            ReportSignature,
            "BadReportSignature",
        ),
        ("reserved 0x4C", 0x4C, ReportSignature, "BadReportSignature"),
        ("report_data", 0x50, ReportSignature, "BadReportSignature"),
        (
            "report_data (zero half)",
            0x70,
            ReportSignature,
            "BadReportSignature",
        ),
        ("measurement", 0x90, ReportSignature, "BadReportSignature"),
        ("host_data", 0xC0, ReportSignature, "BadReportSignature"),
        ("id_key_digest", 0xE0, ReportSignature, "BadReportSignature"),
        (
            "author_key_digest",
            0x110,
            ReportSignature,
            "BadReportSignature",
        ),
        ("report_id", 0x140, ReportSignature, "BadReportSignature"),
        ("report_id_ma", 0x160, ReportSignature, "BadReportSignature"),
        (
            "reported_tcb (bootloader SPL)",
            0x180,
            VcekBinding,
            "TcbMismatch",
        ),
        (
            "reported_tcb (microcode SPL)",
            0x187,
            VcekBinding,
            "TcbMismatch",
        ),
        (
            "reserved 0x18B",
            0x18B,
            ReportSignature,
            "BadReportSignature",
        ),
        ("chip_id", 0x1A0, VcekBinding, "HwIdMismatch"),
        ("chip_id (last byte)", 0x1DF, VcekBinding, "HwIdMismatch"),
        (
            "committed_tcb",
            0x1E0,
            ReportSignature,
            "BadReportSignature",
        ),
        (
            "current version",
            0x1E8,
            ReportSignature,
            "BadReportSignature",
        ),
        (
            "committed version",
            0x1EC,
            ReportSignature,
            "BadReportSignature",
        ),
        ("launch_tcb", 0x1F0, ReportSignature, "BadReportSignature"),
        (
            "reserved 0x1F8 (mit vectors before v5)",
            0x1F8,
            ReportSignature,
            "BadReportSignature",
        ),
        (
            "reserved 0x208, last signed byte",
            0x29F,
            ReportSignature,
            "BadReportSignature",
        ),
    ];
    for (name, offset, check, cause) in regions {
        all.push(class(
            format!("SNP report {name}"),
            check,
            cause,
            flip_hcl(SNP + offset, 0x01),
        ));
    }
    all.push(class(
        "SNP report CPUID family (v3)",
        Input,
        "UnknownCpu",
        |sample, case| {
            if snp_version(sample) < 3 {
                return false;
            }
            case.evidence.hcl_report[SNP + 0x188] ^= 0x01;
            true
        },
    ));
    all.push(class(
        "SNP report key_info signing key VCEK -> VLEK",
        VcekBinding,
        "SigningKeyMismatch",
        flip_hcl(SNP + 0x48, 0x04),
    ));
    all.push(class(
        "SNP report key_info mask-chip-key bit",
        ReportSignature,
        "BadReportSignature",
        flip_hcl(SNP + 0x48, 0x02),
    ));
    // A v2 report read as v3 has no CPUID (zeros); a v3 report read as v2 loses none of the
    // binding's inputs and fails at the signature.
    all.push(class(
        "SNP report version 2 -> 3",
        Input,
        "UnknownCpu { family: 0, model: 0 }",
        |sample, case| {
            if snp_version(sample) != 2 {
                return false;
            }
            case.evidence.hcl_report[SNP..SNP + 4].copy_from_slice(&3u32.to_le_bytes());
            true
        },
    ));
    all.push(class(
        "SNP report version 3 -> 2",
        ReportSignature,
        "BadReportSignature",
        |sample, case| {
            if snp_version(sample) != 3 {
                return false;
            }
            case.evidence.hcl_report[SNP..SNP + 4].copy_from_slice(&2u32.to_le_bytes());
            true
        },
    ));
    all.push(class(
        "SNP report version 1 (unsupported)",
        Input,
        "UnsupportedSnpVersion",
        set_hcl_u32(SNP, 1),
    ));
    all.push(class(
        "SNP report signature algorithm 2",
        ReportSignature,
        "ReportSignatureAlgorithm",
        set_hcl_u32(SNP + 0x34, 2),
    ));

    // --- The report signature. ---
    for (name, offset, cause) in [
        ("signature R", 0x2A0, "BadReportSignature"),
        ("signature S", 0x2E8, "BadReportSignature"),
        ("signature R padding", 0x2A0 + 48, "SignaturePadding"),
        (
            "signature S padding (last byte)",
            0x2E8 + 71,
            "SignaturePadding",
        ),
    ] {
        all.push(class(
            format!("SNP report {name}"),
            ReportSignature,
            cause,
            flip_hcl(SNP + offset, 0x01),
        ));
    }
    all.push(class(
        "SNP report signature R zero",
        ReportSignature,
        "SignatureOutOfRange",
        |_, case| {
            case.evidence.hcl_report[SNP + 0x2A0..SNP + 0x2E8].fill(0);
            true
        },
    ));

    // --- The HCL header and request data. ---
    for (name, class_) in [
        (
            "HCL header magic",
            class("", Input, "BadHclSignature", flip_hcl(0, 0x01)),
        ),
        (
            "HCL header version 3",
            class("", Input, "UnsupportedHclVersion", set_hcl_u32(4, 3)),
        ),
        (
            "HCL header report_size",
            class("", Input, "InconsistentSize", flip_hcl(8, 0x01)),
        ),
        (
            "HCL request data data_size",
            class("", Input, "InconsistentSize", flip_hcl(0x4C0, 0x01)),
        ),
        (
            "HCL request data version 3",
            class(
                "",
                Input,
                "UnsupportedRequestDataVersion",
                set_hcl_u32(0x4C4, 3),
            ),
        ),
        (
            // An SNP report read as a TDREPORT: its first bytes are no TDX report type.
            "HCL report type TDX",
            class("", Input, "UnexpectedUnsignedField", set_hcl_u32(0x4C8, 4)),
        ),
        (
            "HCL report type unknown",
            class("", Input, "UnknownReportType", set_hcl_u32(0x4C8, 9)),
        ),
        (
            "HCL hash type SHA-384",
            class(
                "",
                ReportDataBinding,
                "ReportDataMismatch",
                set_hcl_u32(0x4CC, 2),
            ),
        ),
        (
            "HCL hash type unknown",
            class("", Input, "UnknownHashType", set_hcl_u32(0x4CC, 7)),
        ),
        (
            "HCL variable_data_size",
            class("", Input, "InconsistentSize", flip_hcl(0x4D0, 0x01)),
        ),
        (
            "HCL request_type (unsigned) 1",
            class("", Input, "UnexpectedUnsignedField", set_hcl_u32(0xC, 1)),
        ),
        (
            "HCL status (unsigned) non-zero",
            class("", Input, "UnexpectedUnsignedField", set_hcl_u32(0x10, 5)),
        ),
        (
            "HCL reserved byte (unsigned)",
            class("", Input, "UnexpectedUnsignedField", flip_hcl(0x1F, 0x80)),
        ),
        (
            "SNP report unsigned tail byte",
            class(
                "",
                Input,
                "UnexpectedUnsignedField",
                flip_hcl(SNP + 0x400, 0x01),
            ),
        ),
        (
            "NV padding byte after the report",
            class(
                "",
                Input,
                "UnexpectedUnsignedField",
                |_, case: &mut Case| {
                    let Some(last) = case.evidence.hcl_report.last_mut() else {
                        return false;
                    };
                    *last ^= 0x01;
                    true
                },
            ),
        ),
        (
            "HCL report truncated inside the claims",
            class("", Input, "Truncated", |_, case: &mut Case| {
                case.evidence.hcl_report.truncate(CLAIMS + 10);
                true
            }),
        ),
    ] {
        all.push(Class {
            name: name.to_string(),
            ..class_
        });
    }

    // --- The runtime claims. ---
    all.push(class(
        "runtime claims one character",
        ReportDataBinding,
        "ReportDataMismatch",
        flip_hcl(CLAIMS + 20, 0x01),
    ));
    all.push(class(
        "runtime claims AK modulus (one base64url character)",
        ReportDataBinding,
        "ReportDataMismatch",
        |sample, case| {
            let kid = claims_offset(sample, "\"HCLAkPub\"") - CLAIMS;
            let claims = &case.evidence.hcl_report[CLAIMS..];
            let n = kid
                + claims[kid..]
                    .windows(5)
                    .position(|w| w == b"\"n\":\"")
                    .unwrap()
                + 5;
            let at = CLAIMS + n + 40;
            let c = case.evidence.hcl_report[at];
            case.evidence.hcl_report[at] = if c == b'A' { b'B' } else { b'A' };
            true
        },
    ));
    all.push(class(
        "runtime claims user-data (one hex digit)",
        ReportDataBinding,
        "ReportDataMismatch",
        |sample, case| {
            let at = claims_offset(sample, "\"user-data\":\"");
            let c = case.evidence.hcl_report[at];
            case.evidence.hcl_report[at] = if c == b'0' { b'1' } else { b'0' };
            true
        },
    ));
    all.push(class(
        "runtime claims vm-configuration secure-boot",
        ReportDataBinding,
        "ReportDataMismatch",
        |sample, case| {
            let at = claims_offset(sample, "\"secure-boot\":");
            let value = &mut case.evidence.hcl_report[at..at + 4];
            assert_eq!(value, b"true", "{}", sample.name);
            value.copy_from_slice(b"TRUE");
            true
        },
    ));

    // --- Certificates. ---
    all.push(class(
        "VCEK from another chip (same product)",
        VcekBinding,
        "HwIdMismatch",
        |sample, case| {
            if sample.generation != Generation::Milan {
                return false; // The vectors hold one Genoa chip only.
            }
            let other = if sample.name == "milan-v2" {
                vectors::read("snp/milan/vcek_milan.der")
            } else {
                vectors::read_pem("azure/milan-v2/vcek.pem").swap_remove(0)
            };
            set_vcek(case, other);
            true
        },
    ));
    all.push(class(
        "VCEK of another product",
        // Its own (shipped) chain verifies it; the report binding refuses it.
        VcekBinding,
        "",
        |sample, case| {
            let other = match sample.generation {
                Generation::Milan => vectors::read_pem("azure/genoa-v3/vcek-genoa.pem"),
                _ => vectors::read_pem("azure/milan-v2/vcek.pem"),
            };
            set_vcek(case, other[0].clone());
            true
        },
    ));
    all.push(class(
        "VCEK one byte of its signature",
        Chain,
        "BadCertificateSignature",
        |_, case| {
            // Every candidate leaf is tried, so tamper with the one that would verify and
            // leave it the only one.
            let mut vcek = case
                .certificates
                .leaves
                .first()
                .or(case.evidence.vcek.as_ref())
                .unwrap()
                .clone();
            let at = vcek.len() - 10;
            vcek[at] ^= 1;
            set_vcek(case, vcek);
            true
        },
    ));
    all.push(class(
        "VCEK of another TCB (test PKI VCEK for this chip, test PKI anchors)",
        VcekBinding,
        "TcbMismatch",
        |sample, case| {
            let vcek = test_vcek(sample, |tcb| tcb.snp += 1);
            set_vcek(case, vcek);
            case.certificates.ca = test_chain(sample.generation).ca;
            case.anchors = Anchors::TestPki;
            true
        },
    ));
    all.push(class(
        "chain under a self-generated ARK (test PKI chain, matching VCEK, AMD anchors)",
        Chain,
        // No pinned ARK among them: AMD's shipped chain is tried, which did not sign the VCEK.
        "BadCertificateSignature",
        |sample, case| {
            let vcek = test_vcek(sample, |_| {});
            set_vcek(case, vcek);
            case.certificates.ca = test_chain(sample.generation).ca;
            true
        },
    ));
    all.push(class(
        "real VCEK under a self-generated ARK trusted as anchor",
        Chain,
        "",
        |sample, case| {
            case.certificates.ca = test_chain(sample.generation).ca;
            case.anchors = Anchors::TestPki;
            true
        },
    ));
    all.push(class(
        "verification time after the VCEK expired",
        Chain,
        "",
        |_, case| {
            case.options.time = UnixTime::from_secs(4_102_444_800); // 2100
            true
        },
    ));
    all.push(class(
        "CRL required, none given",
        Revocation,
        "CrlRequired",
        |_, case| {
            case.options.require_crl = true;
            true
        },
    ));
    all.push(class(
        "CRL not signed by AMD's ARK",
        Revocation,
        "BadCrl",
        |sample, case| {
            let pki = TestPki::shared();
            case.certificates.crl = Some(pki.crl(
                sample.generation,
                &snp_vtpm_testkit::pki::CrlSpec::new(
                    REAL_EVIDENCE_TIME - 3600,
                    REAL_EVIDENCE_TIME + 3600,
                ),
            ));
            true
        },
    ));

    // --- The quote message, field by field. ---
    let sample_fields = quote_fields(&vectors_quote_message());
    for (index, (name, _, _)) in sample_fields.iter().enumerate() {
        let (check, cause) = match *name {
            "magic" => (Input, "BadMagic"),
            "type" => (Input, "NotAQuote"),
            "qualifiedSigner size"
            | "extraData size"
            | "PCR selection count"
            | "PCR selection size"
            | "pcrDigest size" => (Input, ""),
            "PCR selection hash" => (Input, ""),
            "qualifiedSigner" => (QualifiedSigner, "QualifiedSignerMismatch"),
            _ => (QuoteSignature, "BadSignature"),
        };
        all.push(class(
            format!("quote message {name}"),
            check,
            cause,
            move |_, case| {
                let fields = quote_fields(&case.evidence.quote.message);
                let (_, offset, len) = fields[index];
                assert!(len > 0, "empty quote field");
                case.evidence.quote.message[offset + len - 1] ^= 0x01;
                true
            },
        ));
    }
    all.push(class(
        "quote message one byte appended",
        Input,
        "TrailingBytes",
        |_, case| {
            case.evidence.quote.message.push(0);
            true
        },
    ));
    all.push(class(
        "quote signature one byte",
        QuoteSignature,
        "BadSignature",
        |_, case| {
            case.evidence.quote.signature[9] ^= 1;
            true
        },
    ));
    all.push(class(
        "quote signature truncated",
        QuoteSignature,
        "BadSignature",
        |_, case| {
            case.evidence.quote.signature.pop();
            true
        },
    ));
    all.push(class(
        "quote of another VM (same nonce)",
        QualifiedSigner,
        "QualifiedSignerMismatch",
        |sample, case| {
            let donor = match sample.name {
                "milan-v2" => "azure/milan-v3/evidence-v0.json",
                _ => return false,
            };
            let other = snp_vtpm_testkit::evidence::evidence_file(donor);
            case.evidence.quote = other.quote;
            true
        },
    ));

    // --- Nonce and PCRs. ---
    all.push(class("nonce one bit", Nonce, "NonceMismatch", |_, case| {
        case.nonce[0] ^= 1;
        true
    }));
    // No challenge at all, or one no TPM can quote: a usage error before any check.
    all.push(class("nonce empty", Nonce, "NonceLength", |_, case| {
        case.nonce.clear();
        true
    }));
    all.push(class(
        "nonce of 65 bytes",
        Nonce,
        "NonceLength",
        |_, case| {
            case.nonce = vec![0x5a; 65];
            true
        },
    ));
    for pcr in 0..24 {
        all.push(class(
            format!("PCR {pcr} value"),
            PcrDigest,
            "PcrDigestMismatch",
            move |_, case| {
                case.evidence.quote.pcrs[pcr][31] ^= 1;
                true
            },
        ));
    }
    all.push(class(
        "PCR list too short (23 values)",
        PcrDigest,
        "MissingPcr",
        |_, case| {
            case.evidence.quote.pcrs.pop();
            true
        },
    ));
    all.push(class(
        "PCR list too long (25 values)",
        Input,
        "",
        |_, case| {
            case.evidence.quote.pcrs.push(vec![0; 32]);
            true
        },
    ));
    all.push(class(
        "PCR value of the wrong length",
        PcrDigest,
        "PcrLength",
        |_, case| {
            case.evidence.quote.pcrs[3].push(0);
            true
        },
    ));
    all.push(class(
        "PCR indices relabelled (0 and 1 swapped)",
        PcrDigest,
        "PcrDigestMismatch",
        |_, case| {
            let mut indices: Vec<u8> = (0..24).collect();
            indices.swap(0, 1);
            case.evidence.quote.pcr_indices = Some(indices);
            true
        },
    ));
    all.push(class(
        "PCR indices with a duplicate (PCR 0 twice)",
        Input,
        "BadPcrSelection",
        |_, case| {
            let mut indices: Vec<u8> = (0..24).collect();
            indices[1] = 0;
            case.evidence.quote.pcr_indices = Some(indices);
            true
        },
    ));
    all.push(class(
        "PCR bank claimed SHA-384",
        PcrDigest,
        "",
        |_, case| {
            case.evidence.quote.pcr_bank = HashAlg::Sha384;
            true
        },
    ));

    // --- Evidence format and freshness. ---
    all.push(class(
        "unknown evidence version 3",
        Input,
        "Input(",
        json_edit(|text| {
            text.replacen("\"version\": 1", "\"version\": 3", 1)
                .replacen("\"version\": 2", "\"version\": 3", 1)
        }),
    ));
    all.push(class(
        "v2 evidence relabelled v1 under a required fresh report",
        ReportFreshness,
        "Stale(FormatCannotBind",
        |sample, case| {
            if sample.evidence.version != EvidenceVersion::V2 {
                return false;
            }
            case.evidence.version = EvidenceVersion::V1;
            case.options.require_fresh_report = true;
            true
        },
    ));
    all.push(class(
        "v0/v1 evidence relabelled v2 under a required fresh report",
        ReportFreshness,
        "Stale(NotBound",
        |sample, case| {
            if sample.evidence.version == EvidenceVersion::V2 {
                return false;
            }
            case.evidence.version = EvidenceVersion::V2;
            case.options.require_fresh_report = true;
            true
        },
    ));
    all.push(class(
        "base64url corruption in hcl_report",
        Input,
        "Input(",
        json_edit(|text| corrupt_json_string(text, "hcl_report", '!')),
    ));
    all.push(class(
        "base64url corruption in vcek",
        Input,
        "Input(",
        |sample, case| {
            if sample.evidence.vcek.is_none() {
                return false;
            }
            json_edit(|text| corrupt_json_string(text, "vcek", '*'))(sample, case)
        },
    ));
    all.push(class(
        "hex corruption in the quote signature",
        Input,
        "Input(",
        json_edit(|text| corrupt_json_string(text, "signature", 'g')),
    ));
    all.push(class(
        "hex corruption in the quote message (odd length)",
        Input,
        "Input(",
        json_edit(|text| {
            let key = "\"message\": \"";
            let at = text.find(key).unwrap() + key.len();
            let mut out = text;
            out.remove(at);
            out
        }),
    ));
    all
}

fn vectors_quote_message() -> Vec<u8> {
    snp_vtpm_testkit::evidence::milan_v2_evidence()
        .quote
        .message
}

#[test]
fn every_tamper_class_is_refused_with_its_check() {
    let samples = real_evidence();
    let classes = classes();
    let mut applications = 0;
    let mut failures = Vec::new();
    for class in &classes {
        let mut applied = 0;
        for sample in &samples {
            let mut case = Case {
                evidence: sample.evidence.clone(),
                json: None,
                nonce: sample.nonce.clone(),
                certificates: sample.certificates.clone(),
                options: VerifyOptions::at(TIME),
                anchors: Anchors::Amd,
            };
            // Every class starts from evidence that verifies.
            verify(&case).unwrap_or_else(|e| panic!("{}: {e}", sample.name));
            if !(class.mutate)(sample, &mut case) {
                continue;
            }
            applied += 1;
            match verify(&case) {
                Ok(()) => failures.push(format!("{} / {}: ACCEPTED", class.name, sample.name)),
                Err(error) => {
                    let cause = format!("{error:?}");
                    if error.check() != class.check || !cause.contains(class.cause) {
                        failures.push(format!(
                            "{} / {}: expected {:?} ({}), found {:?}: {error} [{cause}]",
                            class.name,
                            sample.name,
                            class.check,
                            class.cause,
                            error.check()
                        ));
                    }
                }
            }
        }
        assert!(applied > 0, "{} applies to no evidence", class.name);
        applications += applied;
    }
    assert!(
        failures.is_empty(),
        "{} of {applications} applications not refused as expected:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(classes.len() >= 40);
    println!(
        "tamper matrix: {} mutation classes, {applications} applications over {} real evidence, all refused with their check",
        classes.len(),
        samples.len()
    );
}

#[test]
fn a_test_pki_vcek_for_the_right_chip_and_tcb_passes_the_binding() {
    // The control for "VCEK of another TCB": with the TCB unchanged, the same construction
    // gets past the chain and the binding and fails only at the report signature (the test
    // key did not sign the real report), so the TCB class fails for the TCB alone.
    for sample in real_evidence() {
        let case = Case {
            certificates: Certificates {
                leaves: vec![test_vcek(&sample, |_| {})],
                ca: test_chain(sample.generation).ca,
                ..Certificates::default()
            },
            evidence: Evidence {
                vcek: None,
                ..sample.evidence.clone()
            },
            json: None,
            nonce: sample.nonce.clone(),
            options: VerifyOptions::at(TIME),
            anchors: Anchors::TestPki,
        };
        let error = verify(&case).unwrap_err();
        assert_eq!(
            error.check(),
            Check::ReportSignature,
            "{}: {error}",
            sample.name
        );
    }
}
