//! vtpm-quote against the real vectors: every quote verifies with its AK and the README's
//! nonce; each kind of tampering fails with its specific error; random bytes never panic.

use hcl_parse::HclReport;
use proptest::prelude::*;
use snp_vtpm_testkit::vectors::{self, QuoteSample};
use vtpm_quote::{
    AkPublic, Error, ExpectedNonce, HashAlg, PcrValues, QuoteAttest, QuoteFile, QuoteSignature,
    TpmPublic, check_qualified_signer, verify_quote,
};

fn ak_of(sample: &QuoteSample) -> AkPublic {
    match (&sample.hcl_report, &sample.ak_pem) {
        (Some(hcl), _) => {
            let hcl = HclReport::parse(hcl).unwrap();
            let claims = hcl.runtime_claims().unwrap();
            AkPublic::from_jwk(
                &claims
                    .attestation_key()
                    .unwrap()
                    .rsa_public_numbers()
                    .unwrap(),
            )
            .unwrap()
        }
        (None, Some(pem)) => AkPublic::from_spki_pem(pem).unwrap(),
        (None, None) => unreachable!("every sample has an AK"),
    }
}

fn pcrs(values: &[Vec<u8>]) -> PcrValues {
    PcrValues::sha256_in_order(values).unwrap()
}

fn verify(
    sample: &QuoteSample,
    message: &[u8],
    signature: &[u8],
    ak: &AkPublic,
    nonce: &[u8],
    values: &[Vec<u8>],
) -> Result<(), Error> {
    let signature = QuoteSignature::parse_any(signature)?;
    verify_quote(
        &QuoteAttest::parse(message)?,
        &signature,
        ak,
        ExpectedNonce::Exactly(nonce),
        &pcrs(values),
    )
    .map(|verified| {
        assert_eq!(verified.nonce(), sample.nonce.as_slice());
    })
}

#[test]
fn every_real_quote_verifies_with_its_ak_and_nonce() {
    let samples = vectors::quote_samples();
    assert_eq!(samples.len(), 6);
    for sample in &samples {
        let ak = ak_of(sample);
        let signature = QuoteSignature::parse_any(&sample.signature).unwrap();
        let verified = verify_quote(
            &QuoteAttest::parse(&sample.message).unwrap(),
            &signature,
            &ak,
            ExpectedNonce::Exactly(&sample.nonce),
            &pcrs(&sample.pcrs),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", sample.name));
        assert_eq!(verified.pcrs().len(), 1, "{}: one bank", sample.name);
        assert_eq!(verified.pcrs()[0].bank, HashAlg::Sha256);
        assert_eq!(
            verified.pcrs()[0].values.len(),
            24,
            "{}: PCRs 0-23",
            sample.name
        );
        assert_eq!(
            verified.pcr(HashAlg::Sha256, 7),
            Some(sample.pcrs[7].as_slice())
        );
        let attest = QuoteAttest::parse(&sample.message).unwrap();
        check_qualified_signer(&attest, ak.rsa_modulus().unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", sample.name));
    }
}

#[test]
fn file_formats_read_the_same_quote() {
    let bin = QuoteFile::from_quote_bin(&vectors::read("azure/milan-v2/quote.bin")).unwrap();
    let json = QuoteFile::from_json(&vectors::read("azure/milan-v2/tpm-quote-v1.json")).unwrap();
    assert_eq!(bin, json);
    assert_eq!(bin.pcrs.len(), 24);
    let mut truncated = vectors::read("azure/milan-v2/quote.bin");
    truncated.pop();
    assert!(matches!(
        QuoteFile::from_quote_bin(&truncated),
        Err(Error::BadFormat { .. })
    ));
    let mut longer = vectors::read("azure/milan-v2/quote.bin");
    longer.push(0);
    assert!(matches!(
        QuoteFile::from_quote_bin(&longer),
        Err(Error::BadFormat { .. })
    ));
}

#[test]
fn tampering_fails_with_the_specific_error() {
    let samples = vectors::quote_samples();
    for sample in &samples {
        let name = sample.name;
        let ak = ak_of(sample);
        let go =
            |message: &[u8], signature: &[u8], ak: &AkPublic, nonce: &[u8], values: &[Vec<u8>]| {
                verify(sample, message, signature, ak, nonce, values).unwrap_err()
            };
        let mut signature = sample.signature.clone();
        signature[17] ^= 1;
        assert_eq!(
            go(
                &sample.message,
                &signature,
                &ak,
                &sample.nonce,
                &sample.pcrs
            ),
            Error::BadSignature,
            "{name}"
        );

        let mut message = sample.message.clone();
        let last = message.len() - 1;
        message[last] ^= 1; // a byte of pcrDigest: the signature no longer covers it
        assert_eq!(
            go(
                &message,
                &sample.signature,
                &ak,
                &sample.nonce,
                &sample.pcrs
            ),
            Error::BadSignature,
            "{name}"
        );

        let err = go(
            &sample.message,
            &sample.signature,
            &ak,
            b"challenge!",
            &sample.pcrs,
        );
        assert!(matches!(err, Error::NonceMismatch { .. }), "{name}: {err}");
        // An empty nonce is no challenge at all: refused before any comparison.
        let err = go(&sample.message, &sample.signature, &ak, b"", &sample.pcrs);
        assert!(
            matches!(err, Error::NonceLength { found: 0, .. }),
            "{name}: {err}"
        );

        for index in [0, 7, 23] {
            let mut values = sample.pcrs.clone();
            values[index][0] ^= 1;
            let err = go(
                &sample.message,
                &sample.signature,
                &ak,
                &sample.nonce,
                &values,
            );
            assert!(
                matches!(err, Error::PcrDigestMismatch { .. }),
                "{name} PCR {index}: {err}"
            );
        }
        let short = &sample.pcrs[..23];
        let err = go(
            &sample.message,
            &sample.signature,
            &ak,
            &sample.nonce,
            short,
        );
        assert_eq!(
            err,
            Error::MissingPcr {
                bank: HashAlg::Sha256,
                index: 23
            },
            "{name}"
        );
        let mut long = sample.pcrs.clone();
        long.push(vec![0; 32]);
        assert!(
            PcrValues::sha256_in_order(&long).is_err(),
            "{name}: 25 PCRs"
        );

        let truncated = &sample.message[..sample.message.len() - 1];
        let err = go(
            truncated,
            &sample.signature,
            &ak,
            &sample.nonce,
            &sample.pcrs,
        );
        assert!(matches!(err, Error::Truncated { .. }), "{name}: {err}");
    }
}

#[test]
fn a_swapped_ak_is_refused_twice() {
    let samples = vectors::quote_samples();
    let (milan, genoa) = (&samples[0], &samples[4]);
    let genoa_ak = ak_of(genoa);
    let err = verify(
        milan,
        &milan.message,
        &milan.signature,
        &genoa_ak,
        &milan.nonce,
        &milan.pcrs,
    )
    .unwrap_err();
    assert_eq!(err, Error::BadSignature);
    let attest = QuoteAttest::parse(&milan.message).unwrap();
    let err = check_qualified_signer(&attest, genoa_ak.rsa_modulus().unwrap()).unwrap_err();
    assert!(
        matches!(err, Error::QualifiedSignerMismatch { .. }),
        "{err}"
    );
}

#[test]
fn quote_structure_is_checked() {
    let sample = &vectors::quote_samples()[0];
    let mut wrong_magic = sample.message.clone();
    wrong_magic[0] = 0;
    assert!(matches!(
        QuoteAttest::parse(&wrong_magic),
        Err(Error::BadMagic { .. })
    ));
    let mut wrong_type = sample.message.clone();
    wrong_type[5] = 0x17;
    assert_eq!(
        QuoteAttest::parse(&wrong_type).unwrap_err(),
        Error::NotAQuote { found: 0x8017 }
    );
    let mut longer = sample.message.clone();
    longer.push(0);
    assert!(matches!(
        QuoteAttest::parse(&longer),
        Err(Error::TrailingBytes { count: 1, .. })
    ));
    let attest = QuoteAttest::parse(&sample.message).unwrap();
    assert_eq!(attest.extra_data(), b"challenge");
    assert_eq!(attest.selection()[0].indices, (0..24).collect::<Vec<u8>>());
}

#[test]
fn the_ak_reads_from_every_encoding_alike() {
    let pem = vectors::read("azure/quote-only/akpub.pem");
    let from_pem = AkPublic::from_spki_pem(&pem).unwrap();
    let modulus = from_pem.rsa_modulus().unwrap().to_vec();
    assert_eq!(modulus.len(), 256);
    // A TPM2B_PUBLIC built from the Azure template carries the same key and name.
    let tpmt = vtpm_quote::name::azure_ak_template(&modulus);
    let mut tpm2b = (tpmt.len() as u16).to_be_bytes().to_vec();
    tpm2b.extend_from_slice(&tpmt);
    let public = TpmPublic::from_tpm2b(&tpm2b).unwrap();
    assert_eq!(public.key, from_pem);
    assert_eq!(public.attributes, vtpm_quote::name::AZURE_AK_ATTRIBUTES);
    assert_eq!(public.name, vtpm_quote::name::sha256_name(&tpmt));
    assert!(TpmPublic::from_tpm2b(&tpm2b[..tpm2b.len() - 1]).is_err());
    assert!(
        AkPublic::from_spki_pem(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
            .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = QuoteAttest::parse(&bytes);
        let _ = QuoteSignature::from_tpmt(&bytes);
        let _ = TpmPublic::from_tpm2b(&bytes);
        let _ = TpmPublic::from_tpmt(&bytes);
        let _ = AkPublic::from_spki_der(&bytes);
        let _ = QuoteFile::from_quote_bin(&bytes);
        let _ = QuoteFile::from_json(&bytes);
    }

    #[test]
    fn mutated_real_quotes_never_panic(index in any::<prop::sample::Index>(), value in any::<u8>()) {
        static SAMPLE: std::sync::OnceLock<QuoteSample> = std::sync::OnceLock::new();
        let sample = SAMPLE.get_or_init(|| vectors::quote_samples().swap_remove(0));
        let mut message = sample.message.clone();
        let i = index.index(message.len());
        message[i] = value;
        let _ = QuoteAttest::parse(&message);
        let _ = verify(sample, &message, &sample.signature, &ak_of(sample), &sample.nonce, &sample.pcrs);
    }
}
