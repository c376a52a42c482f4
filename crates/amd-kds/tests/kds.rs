//! KDS URLs and bodies, against a real loopback HTTP server serving the real AMD certificates.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use amd_kds::{
    Cache, CertChain, CertificateSource, ChainKind, Error, KdsClient, ProxyConfig, Source,
    VcekRequest,
};
use hcl_parse::{Generation, HclReport, SnpReport};
use snp_vtpm_testkit::pki::{CrlSpec, TestPki};
use support::*;

const UA: &str = concat!("snp-vtpm/", env!("CARGO_PKG_VERSION"));

#[test]
fn milan_vcek_url_is_built_from_the_real_report() {
    let vcek = vector("snp/milan/vcek_milan.der");
    let server = TestServer::always(Reply::ok(vcek.clone()));
    let client = kds_source(&server, None, exact_policy(5, 60), &sim_clock());

    let raw = milan_report();
    let report = SnpReport::from_bytes(&raw).unwrap();
    let fetched = client
        .vcek_for_report(&report, Some(Generation::Milan))
        .unwrap();

    // Expected URL computed from the raw bytes, not from the parser: chip_id at 0x1A0, and
    // reported_tcb at 0x180 = [bl, tee, 0, 0, 0, 0, snp, ucode].
    assert_eq!(&raw[0x180..0x188], &[3, 0, 0, 0, 0, 0, 8, 115]);
    let expected = format!(
        "/vcek/v1/Milan/{}?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115",
        hex(&raw[0x1A0..0x1E0])
    );
    assert_eq!(expected.split(['/', '?']).nth(4).unwrap().len(), 128);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].target, expected);
    assert_eq!(requests[0].header("user-agent"), Some(UA));
    assert_eq!(fetched.value.der(), vcek.as_slice());
    assert_eq!(fetched.source, Source::Kds);
}

#[test]
fn genoa_vcek_url_comes_from_the_real_hcl_report_and_a_pem_body_is_decoded() {
    let server = TestServer::always(Reply::ok(vector("azure/genoa-v3/vcek-genoa.pem")));
    let client = kds_source(&server, None, exact_policy(5, 60), &sim_clock());

    let nv = genoa_hcl_report();
    let hcl = HclReport::parse(&nv).unwrap();
    let request = VcekRequest::from_hcl_report(&hcl, None).unwrap();
    assert_eq!(
        request.product(),
        Generation::Genoa,
        "from the v3 report's CPUID"
    );
    let fetched = client.vcek(&request).unwrap();

    let snp = &nv[0x20..0x20 + 1184];
    let tcb = &snp[0x180..0x188];
    let expected = format!(
        "/vcek/v1/Genoa/{}?blSPL={:02}&teeSPL={:02}&snpSPL={:02}&ucodeSPL={:02}",
        hex(&snp[0x1A0..0x1E0]),
        tcb[0],
        tcb[1],
        tcb[6],
        tcb[7]
    );
    assert_eq!(server.targets(), [expected]);
    assert_eq!(
        fetched.value.der(),
        pem_der("azure/genoa-v3/vcek-genoa.pem")
    );
}

#[test]
fn turin_vcek_url_uses_the_first_8_bytes_and_fmc() {
    let vcek = vector("snp/turin/vcek_turin.der");
    // A Turin report (v3, family 0x1A) carrying the real VCEK's hwID and SPLs: no Turin
    // report exists publicly.
    let hw_id = vcek_extension(&vcek, "4").expect("hwID");
    assert_eq!(hw_id.len(), 8);
    let [fmc, bl, tee, snp, ucode] =
        ["3.9", "3.1", "3.2", "3.3", "3.8"].map(|s| vcek_spl(&vcek, s));
    let mut raw = vec![0u8; 1184];
    raw[0] = 3;
    raw[0x180..0x188].copy_from_slice(&[fmc, bl, tee, snp, 0, 0, 0, ucode]);
    raw[0x188] = 0x1A;
    raw[0x189] = 0x02;
    raw[0x1A0..0x1A8].copy_from_slice(&hw_id);
    raw[0x1A8..0x1E0].fill(0xEE); // not part of a Turin hwID
    let report = SnpReport::from_bytes(&raw).unwrap();

    let server = TestServer::always(Reply::ok(vcek.clone()));
    let client = kds_source(&server, None, exact_policy(5, 60), &sim_clock());
    let request = VcekRequest::detect(&report, None).unwrap();
    assert_eq!(request.product(), Generation::Turin);
    let fetched = client.vcek(&request).unwrap();

    let expected = format!(
        "/vcek/v1/Turin/{}?fmcSPL={fmc:02}&blSPL={bl:02}&teeSPL={tee:02}&snpSPL={snp:02}&ucodeSPL={ucode:02}",
        hex(&hw_id)
    );
    assert_eq!(
        expected
            .split('/')
            .nth(4)
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .len(),
        16
    );
    assert_eq!(server.targets(), [expected]);
    assert_eq!(fetched.value.der(), vcek.as_slice());
}

#[test]
fn product_mismatch_and_masked_chip_are_refused_before_any_request() {
    let raw = milan_report();
    let report = SnpReport::from_bytes(&raw).unwrap();
    let nv = genoa_hcl_report();
    let genoa = HclReport::parse(&nv).unwrap().snp_report().unwrap();
    let e = VcekRequest::from_report(&genoa, Generation::Milan).unwrap_err();
    assert!(e.to_string().contains("Genoa processor"), "{e}");
    let e = VcekRequest::detect(&report, None).unwrap_err();
    assert!(e.to_string().contains("give the product"), "{e}");
    let mut masked = raw.clone();
    masked[0x1A0..0x1E0].fill(0);
    let masked = SnpReport::from_bytes(&masked).unwrap();
    let e = VcekRequest::from_report(&masked, Generation::Milan).unwrap_err();
    assert!(e.to_string().contains("masked"), "{e}");
}

#[test]
fn chains_of_every_product_and_kind() {
    let server = TestServer::start(|_, request| {
        let parts: Vec<&str> = request.target.split('/').collect();
        match parts.as_slice() {
            ["", kind @ ("vcek" | "vlek"), "v1", product, "cert_chain"] => {
                let intermediate = if *kind == "vcek" { "ask" } else { "asvk" };
                Reply::ok(kds_chain_pem(&product.to_lowercase(), intermediate))
            }
            _ => Reply::status(404),
        }
    });
    let client = kds_source(&server, None, exact_policy(5, 60), &sim_clock());
    for product in Generation::ALL {
        let folder = product.name().to_lowercase();
        for (kind, intermediate) in [(ChainKind::Vcek, "ask"), (ChainKind::Vlek, "asvk")] {
            let chain = client.cert_chain(product, kind).unwrap();
            assert_eq!(chain.source, Source::Kds);
            assert_eq!(chain.value.product(), product);
            assert_eq!(chain.value.kind(), kind);
            assert_eq!(
                chain.value.ask_or_asvk_der(),
                pem_der(&format!("amd/{folder}/{intermediate}.pem"))
            );
            assert_eq!(
                chain.value.ark_der(),
                pem_der(&format!("amd/{folder}/ark.pem"))
            );
            let expected = format!("/{}/v1/{}/cert_chain", kind.segment(), product.name());
            assert_eq!(server.targets().last().unwrap(), &expected);
        }
    }
    assert_eq!(server.count(), 6);
}

#[test]
fn crl_path_body_and_next_update() {
    let this_update = 1_717_100_000;
    let next_update = 1_717_300_000;
    let crl = TestPki::shared().crl(Generation::Milan, &CrlSpec::new(this_update, next_update));
    let server = TestServer::always(Reply::ok(crl.clone()));
    let client = kds_source(&server, None, exact_policy(5, 60), &sim_clock());
    let fetched = client.crl(Generation::Milan).unwrap();
    assert_eq!(server.targets(), ["/vcek/v1/Milan/crl"]);
    assert_eq!(fetched.value.der(), crl.as_slice());
    assert_eq!(fetched.value.next_update_unix(), next_update);
    // The same CRL as PEM is accepted by the public constructor.
    let from_pem = amd_kds::Crl::from_bytes(pem("X509 CRL", &crl).as_bytes()).unwrap();
    assert_eq!(from_pem, fetched.value);
}

/// Serves `body` at every URL, asks with `ask`, and checks that the answer is refused as
/// malformed with `needle` in the message, after exactly one request, and not cached.
fn refused(
    body: Vec<u8>,
    needle: &str,
    ask: impl FnOnce(&CertificateSource) -> Result<(), Error>,
    cached_path: impl FnOnce(&CertificateSource) -> Option<std::path::PathBuf>,
) {
    let cache = TempDir::new("refused");
    let server = TestServer::always(Reply::ok(body));
    let client = kds_source(&server, Some(&cache), exact_policy(5, 60), &sim_clock());
    let e = ask(&client).unwrap_err();
    assert!(e.is_malformed(), "{e:?}");
    assert!(!e.is_unavailable());
    let message = e.to_string();
    assert!(message.contains(needle), "\"{needle}\" not in: {message}");
    assert!(
        message.contains(&server.base_url()),
        "the URL is named: {message}"
    );
    assert_eq!(server.count(), 1, "a malformed body is not retried");
    let path = cached_path(&client).expect("caching is on");
    assert!(!path.exists(), "{} must not be cached", path.display());
}

fn milan_request() -> VcekRequest {
    let raw = milan_report();
    VcekRequest::from_report(&SnpReport::from_bytes(&raw).unwrap(), Generation::Milan).unwrap()
}

#[test]
fn wrong_bodies_at_the_vcek_url_are_refused_and_not_cached() {
    let vcek = vector("snp/milan/vcek_milan.der");
    let ask = pem_der("amd/milan/ask.pem");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (kds_chain_pem("milan", "ask"), "found 2 PEM blocks"),
        (
            vec![0x30, 0x03, 0x02, 0x01, 0x05],
            "not one DER X.509 certificate",
        ),
        (
            b"<html>Service Unavailable</html>".to_vec(),
            "not one DER X.509",
        ),
        (Vec::new(), "not one DER X.509"),
        (vcek[..vcek.len() / 2].to_vec(), "not one DER X.509"),
        ([vcek.clone(), vec![0]].concat(), "not one DER X.509"),
        (ask, "RSA key"),
        (
            pem("X509 CRL", &vcek).into_bytes(),
            "expected a CERTIFICATE PEM block",
        ),
    ];
    for (body, needle) in cases {
        let request = milan_request();
        refused(
            body,
            needle,
            |client| client.vcek(&request).map(drop),
            |client| client.cache().vcek_path(&request),
        );
    }
}

#[test]
fn wrong_bodies_at_the_chain_url_are_refused_and_not_cached() {
    let ask = String::from_utf8(vector("amd/milan/ask.pem")).unwrap();
    let ark = String::from_utf8(vector("amd/milan/ark.pem")).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            vector("snp/milan/vcek_milan.der"),
            "expected 2 certificates",
        ),
        (ask.clone().into_bytes(), "found 1"),
        (
            kds_chain_pem("genoa", "ask"),
            "expected a Milan chain, found a Genoa one",
        ),
        (kds_chain_pem("milan", "asvk"), "SEV-VLEK-Milan"),
        (format!("{ark}\n{ask}").into_bytes(), "not self-issued"),
        (
            format!("{ask}\n{}", &ark[..ark.len() / 2]).into_bytes(),
            "no END line",
        ),
        (b"garbage".to_vec(), "not a sequence of DER certificates"),
    ];
    for (body, needle) in cases {
        refused(
            body,
            needle,
            |client| {
                client
                    .cert_chain(Generation::Milan, ChainKind::Vcek)
                    .map(drop)
            },
            |client| {
                client
                    .cache()
                    .chain_path(Generation::Milan, ChainKind::Vcek)
            },
        );
    }
}

#[test]
fn wrong_bodies_at_the_crl_url_are_refused_and_not_cached() {
    let without_next = TestPki::shared().crl(
        Generation::Milan,
        &CrlSpec::new(1_717_100_000, 1_717_300_000).without_next_update(),
    );
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vector("snp/milan/vcek_milan.der"), "not a DER CRL"),
        (without_next, "no nextUpdate"),
        (vec![0x30, 0x00], "not a DER CRL"),
    ];
    for (body, needle) in cases {
        refused(
            body,
            needle,
            |client| client.crl(Generation::Milan).map(drop),
            |client| client.cache().crl_path(Generation::Milan),
        );
    }
}

#[test]
fn bodies_over_the_size_limit_are_refused() {
    let server = TestServer::always(Reply::ok(vec![0x30; 4096]));
    let mut config = kds_config(&server, exact_policy(5, 60));
    config.http.max_body_bytes = 1024;
    let client = CertificateSource::new(KdsClient::new(config).unwrap(), Cache::disabled());
    let e = client.vcek(&milan_request()).unwrap_err();
    assert!(e.is_malformed(), "{e:?}");
    assert!(e.to_string().contains("1024-byte limit"), "{e}");
    assert_eq!(server.count(), 1);
}

#[test]
fn a_configured_proxy_tunnels_the_request() {
    let proxy = TestServer::always(Reply::ok(vector("snp/milan/vcek_milan.der")));
    let mut config = kds_config(&proxy, exact_policy(1, 60));
    config.base_url = "http://kds.invalid".to_string();
    config.http.proxy = ProxyConfig::Url(proxy.base_url());
    let client = CertificateSource::new(KdsClient::new(config).unwrap(), Cache::disabled());
    let request = milan_request();
    client.vcek(&request).unwrap();
    let received = proxy.requests();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].method, "CONNECT");
    assert_eq!(received[0].target, "kds.invalid:80");
    assert_eq!(received[1].target, request.path());
    assert_eq!(received[1].header("host"), Some("kds.invalid"));
}

#[test]
fn invalid_configuration_is_reported() {
    let server = TestServer::always(Reply::status(500));
    let mut config = kds_config(&server, exact_policy(0, 60));
    assert!(KdsClient::new(config.clone()).is_err());
    config.retry = exact_policy(1, 60);
    config.base_url = "kdsintf.amd.com".into();
    let e = KdsClient::new(config.clone()).unwrap_err();
    assert!(e.to_string().contains("not http:// or https://"), "{e}");
    config.base_url = server.base_url();
    config.http.proxy = ProxyConfig::Url("::not a url::".into());
    assert!(KdsClient::new(config).is_err());
}

#[test]
fn public_constructors_apply_the_same_checks() {
    let chain = kds_chain_pem("turin", "asvk");
    let parsed = CertChain::from_bytes(&chain, ChainKind::Vlek, None).unwrap();
    assert_eq!(parsed.product(), Generation::Turin);
    let reencoded = CertChain::from_bytes(parsed.to_pem().as_bytes(), ChainKind::Vlek, None);
    assert_eq!(reencoded.unwrap(), parsed);
    // Two concatenated DER certificates are a chain too.
    let der = [parsed.ask_or_asvk_der(), parsed.ark_der()].concat();
    assert_eq!(
        CertChain::from_bytes(&der, ChainKind::Vlek, Some(Generation::Turin)).unwrap(),
        parsed
    );
    assert!(CertChain::from_bytes(&chain, ChainKind::Vcek, None).is_err());
    let vcek = vector("snp/turin/vcek_turin.der");
    let cert = amd_kds::Certificate::from_bytes(&vcek).unwrap();
    assert_eq!(
        amd_kds::Certificate::from_bytes(cert.to_pem().as_bytes()).unwrap(),
        cert
    );
}
