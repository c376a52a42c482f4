//! Azure IMDS THIM and the source order (cache, IMDS, KDS), against real loopback servers.
//! No real THIM answer exists in the vectors: the JSON is built here from the real PEMs.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use amd_kds::{ChainKind, Error, ImdsQuery, Source, VcekRequest};
use hcl_parse::{Generation, HclReport, TcbVersion};
use support::*;

/// The Genoa report's VCEK request and its TCB as IMDS writes it (16 upper-case hex digits of
/// the TCB as a big-endian u64), computed from the raw bytes.
fn genoa() -> (VcekRequest, String, Vec<u8>) {
    let nv = genoa_hcl_report();
    let request = VcekRequest::from_hcl_report(&HclReport::parse(&nv).unwrap(), None).unwrap();
    let tcb: [u8; 8] = nv[0x20 + 0x180..0x20 + 0x188].try_into().unwrap();
    let tcbm = format!("{:016X}", u64::from_le_bytes(tcb));
    (request, tcbm, nv)
}

fn thim_json(tcbm: &str) -> Vec<u8> {
    let vcek = String::from_utf8(vector("azure/genoa-v3/vcek-genoa.pem")).unwrap();
    let chain = String::from_utf8(kds_chain_pem("genoa", "ask")).unwrap();
    serde_json::to_vec(&serde_json::json!({
        "vcekCert": vcek,
        "tcbm": tcbm,
        "certificateChain": chain,
        "cacheControl": "86400",
    }))
    .unwrap()
}

#[test]
fn imds_request_has_the_metadata_header_and_the_json_is_parsed() {
    let (request, tcbm, _) = genoa();
    assert!(
        tcbm.len() == 16
            && tcbm
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    );
    let server = TestServer::always(Reply::ok(thim_json(&tcbm)));
    let imds = imds_client(&server, &sim_clock());
    let thim = imds.certification(&ImdsQuery::default()).unwrap();

    let received = server.requests();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].target, "/metadata/THIM/amd/certification");
    assert_eq!(received[0].header("metadata"), Some("true"));
    assert_eq!(thim.vcek.der(), pem_der("azure/genoa-v3/vcek-genoa.pem"));
    assert_eq!(thim.chain.ask_or_asvk_der(), pem_der("amd/genoa/ask.pem"));
    assert_eq!(thim.chain.ark_der(), pem_der("amd/genoa/ark.pem"));
    assert_eq!(thim.chain.product(), Generation::Genoa);
    assert_eq!(thim.tcbm, request.tcb_version());
    assert_eq!(thim.tcbm.to_string(), tcbm);
    assert_eq!(thim.cache_control.as_deref(), Some("86400"));
}

#[test]
fn imds_optional_query() {
    let (request, tcbm, _) = genoa();
    let server = TestServer::always(Reply::ok(thim_json(&tcbm)));
    let imds = imds_client(&server, &sim_clock());
    let query = ImdsQuery {
        platform_id: Some(request.hw_id().to_vec()),
        tcb_version: Some(request.tcb_version()),
    };
    imds.certification(&query).unwrap();
    assert_eq!(
        server.targets(),
        [format!(
            "/metadata/THIM/amd/certification?platformId={}&tcbVersion={tcbm}",
            request.hw_id_hex()
        )]
    );
}

#[test]
fn malformed_imds_answers_are_refused() {
    let (_, tcbm, _) = genoa();
    let good: serde_json::Value = serde_json::from_slice(&thim_json(&tcbm)).unwrap();
    let with = |key: &str, value: serde_json::Value| {
        let mut json = good.clone();
        json[key] = value;
        serde_json::to_vec(&json).unwrap()
    };
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("certificateChain");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "not the THIM JSON object"),
        (serde_json::to_vec(&missing).unwrap(), "certificateChain"),
        (
            with("tcbm", "12345".into()),
            "tcbm \"12345\" is not 16 hex digits",
        ),
        (
            with("vcekCert", "-----BEGIN CERTIFICATE-----\nAAAA\n".into()),
            "vcekCert",
        ),
        (
            with("certificateChain", good["vcekCert"].clone()),
            "certificateChain: expected 2 certificates",
        ),
    ];
    for (body, needle) in cases {
        let server = TestServer::always(Reply::ok(body));
        let e = imds_client(&server, &sim_clock())
            .certification(&ImdsQuery::default())
            .unwrap_err();
        assert!(e.is_malformed(), "{e:?}");
        assert!(e.to_string().contains(needle), "\"{needle}\" not in {e}");
        assert_eq!(server.count(), 1);
    }
}

/// A KDS server that serves the Genoa VCEK (DER) and chain.
fn genoa_kds() -> TestServer {
    let vcek = pem_der("azure/genoa-v3/vcek-genoa.pem");
    let chain = kds_chain_pem("genoa", "ask");
    TestServer::start(move |_, request| {
        if request.target.ends_with("/cert_chain") {
            Reply::ok(chain.clone())
        } else if request.target.starts_with("/vcek/v1/Genoa/") {
            Reply::ok(vcek.clone())
        } else {
            Reply::status(404)
        }
    })
}

#[test]
fn the_source_order_is_cache_then_imds_then_kds() {
    let (_, tcbm, nv) = genoa();
    let cache = TempDir::new("source-order");
    let clock = sim_clock();
    let kds_server = genoa_kds();
    let imds_server = TestServer::always(Reply::ok(thim_json(&tcbm)));
    let source = kds_source(&kds_server, Some(&cache), exact_policy(5, 60), &clock)
        .with_imds(imds_client(&imds_server, &clock));
    let hcl = HclReport::parse(&nv).unwrap();
    let report = hcl.snp_report().unwrap();

    let vcek = source.vcek_for_report(&report, None).unwrap();
    assert_eq!(vcek.source, Source::Imds);
    assert_eq!(vcek.value.der(), pem_der("azure/genoa-v3/vcek-genoa.pem"));
    assert_eq!((imds_server.count(), kds_server.count()), (1, 0));

    // IMDS's chain was cached on the way; the VCEK too.
    let chain = source
        .cert_chain(Generation::Genoa, ChainKind::Vcek)
        .unwrap();
    assert_eq!(chain.source, Source::Cache);
    assert_eq!(
        source.vcek_for_report(&report, None).unwrap().source,
        Source::Cache
    );
    assert_eq!((imds_server.count(), kds_server.count()), (1, 0));

    // IMDS has no VLEK chains: KDS.
    let vlek = source.cert_chain(Generation::Genoa, ChainKind::Vlek);
    assert!(vlek.is_err(), "the test KDS has no VLEK chain");
    assert_eq!(kds_server.count(), 1);
}

#[test]
fn an_imds_vcek_of_another_tcb_is_not_used() {
    let (request, _, _) = genoa();
    let mut other = request.tcb_version().0;
    other[7] = other[7].wrapping_add(1); // another microcode SPL
    let other_tcbm = format!("{:016X}", u64::from_le_bytes(other));
    let clock = sim_clock();
    let kds_server = genoa_kds();
    let imds_server = TestServer::always(Reply::ok(thim_json(&other_tcbm)));
    let source = kds_source(&kds_server, None, exact_policy(5, 60), &clock)
        .with_imds(imds_client(&imds_server, &clock));
    let vcek = source.vcek(&request).unwrap();
    assert_eq!(vcek.source, Source::Kds);
    assert_eq!((imds_server.count(), kds_server.count()), (1, 1));
    assert_eq!(TcbVersion(other).to_string(), other_tcbm);
}

#[test]
fn an_unavailable_imds_falls_back_to_kds() {
    let (request, _, _) = genoa();
    let clock = sim_clock();
    let kds_server = genoa_kds();
    let imds_server = TestServer::always(Reply::status(500));
    let source = kds_source(&kds_server, None, exact_policy(5, 60), &clock)
        .with_imds(imds_client(&imds_server, &clock));
    assert_eq!(source.vcek(&request).unwrap().source, Source::Kds);
    assert_eq!(imds_server.count(), 2, "IMDS policy: 2 attempts");
    assert_eq!(kds_server.count(), 1);
    let chain = source
        .cert_chain(Generation::Genoa, ChainKind::Vcek)
        .unwrap();
    assert_eq!(chain.source, Source::Kds);
}

#[test]
fn an_offline_source_touches_no_network() {
    let (request, tcbm, _) = genoa();
    let cache = TempDir::new("source-offline");
    let clock = sim_clock();
    let kds_server = genoa_kds();
    let imds_server = TestServer::always(Reply::ok(thim_json(&tcbm)));
    let source = kds_source(&kds_server, Some(&cache), exact_policy(5, 60), &clock)
        .with_offline(true)
        .with_imds(imds_client(&imds_server, &clock));
    let e = source.vcek(&request).unwrap_err();
    assert!(matches!(e, Error::NotCachedOffline { .. }), "{e:?}");
    let e = source.crl(Generation::Genoa).unwrap_err();
    assert!(matches!(e, Error::NotCachedOffline { .. }), "{e:?}");
    assert_eq!((imds_server.count(), kds_server.count()), (0, 0));
}
