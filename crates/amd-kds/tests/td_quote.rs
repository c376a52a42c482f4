//! Azure IMDS's TD quoting service (`POST /acc/tdquote`), against a real loopback server that
//! answers with the real TD quote of the Azure TDX sample: the request carries the TDREPORT of
//! the sample's HCL report in base64url JSON, and only a quote of that TDREPORT is accepted.
// Test code: a panic is a failed test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use amd_kds::{ArtifactKind, Error, ImdsClient, ImdsConfig};
use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use hcl_parse::HclReport;
use support::*;

fn td_report() -> Vec<u8> {
    let hcl = vector("azure/tdx-vm1/hcl-report.bin");
    HclReport::parse(&hcl)
        .unwrap()
        .td_report_bytes()
        .unwrap()
        .to_vec()
}

fn quote_answer(quote: &[u8], padded: bool) -> Reply {
    let engine = if padded { &URL_SAFE } else { &URL_SAFE_NO_PAD };
    Reply::ok(format!("{{\"quote\":\"{}\"}}", engine.encode(quote)))
}

fn client(server: &TestServer) -> ImdsClient {
    let clock = sim_clock();
    ImdsClient::new(ImdsConfig {
        base_url: server.base_url(),
        http: loopback_http(),
        retry: exact_policy(3, 10),
    })
    .unwrap()
    .with_clock(clock)
}

#[test]
fn the_tdreport_goes_out_and_its_quote_comes_back() {
    let quote = vector("azure/tdx-vm1/td-quote.bin");
    for padded in [false, true] {
        let answer = quote_answer(&quote, padded);
        let server = TestServer::always(answer);
        let got = client(&server).td_quote(&td_report()).unwrap();
        assert_eq!(got, quote);

        let [request] = server.requests().try_into().unwrap();
        assert_eq!(request.method, "POST");
        assert_eq!(request.target, "/acc/tdquote");
        assert_eq!(request.header("content-type"), Some("application/json"));
        let json: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
        let sent = URL_SAFE_NO_PAD
            .decode(json["report"].as_str().unwrap())
            .unwrap();
        assert_eq!(sent, td_report(), "the TDREPORT as the paravisor stored it");
        assert_eq!(json.as_object().unwrap().len(), 1);
    }
}

#[test]
fn a_busy_service_is_asked_again() {
    let quote = vector("azure/tdx-vm1/td-quote.bin");
    let answer = quote_answer(&quote, false);
    let server = TestServer::start(move |n, _| {
        if n == 0 {
            Reply::status(503)
        } else {
            answer.clone()
        }
    });
    assert_eq!(client(&server).td_quote(&td_report()).unwrap(), quote);
    assert_eq!(server.count(), 2);
}

#[test]
fn anything_but_a_quote_of_this_tdreport_is_refused() {
    // Another genuine TD quote (Intel's sample): not of this TDREPORT.
    let other = vector("intel/dcap-qvl/tdx_quote");
    let server = TestServer::always(quote_answer(&other, false));
    let e = client(&server).td_quote(&td_report()).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Malformed {
                kind: ArtifactKind::TdQuote,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("not of the TDREPORT sent"), "{e}");

    let quote = vector("azure/tdx-vm1/td-quote.bin");
    let cases: [(Vec<u8>, &str); 4] = [
        (b"{\"quote\": 5}".to_vec(), "not the quote JSON object"),
        (b"{\"quote\": \"$$$\"}".to_vec(), "not base64url"),
        (
            format!(
                "{{\"quote\":\"{}\"}}",
                URL_SAFE_NO_PAD.encode(&quote[..600])
            )
            .into_bytes(),
            "quote: ",
        ),
        (b"<html>".to_vec(), "not the quote JSON object"),
    ];
    for (body, expected) in cases {
        let server = TestServer::always(Reply::ok(body));
        let e = client(&server).td_quote(&td_report()).unwrap_err();
        assert!(e.is_malformed(), "{e}");
        assert!(e.to_string().contains(expected), "{expected}: {e}");
    }

    // Not found: a plain error naming the POST.
    let server = TestServer::always(Reply::status(404));
    let e = client(&server).td_quote(&td_report()).unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    assert!(e.to_string().contains("POST http://127.0.0.1:"), "{e}");
}

#[test]
fn a_tdreport_of_the_wrong_size_is_not_sent() {
    let server = TestServer::always(Reply::status(500));
    let mut long = td_report();
    long.push(0);
    for report in [&td_report()[..1000], &long[..]] {
        let e = client(&server).td_quote(report).unwrap_err();
        assert!(matches!(e, Error::InvalidRequest { .. }), "{e}");
    }
    assert_eq!(server.count(), 0);
}

#[test]
fn the_quote_body_must_repeat_every_field_of_the_tdreport() {
    // Azure's real quote repeats its TDREPORT byte for byte.
    let quote = vector("azure/tdx-vm1/td-quote.bin");
    let body = hcl_parse::TdReport::parse(&td_report())
        .unwrap()
        .quote_body();
    assert_eq!(&quote[48..48 + body.len()], body.as_slice());

    // A genuine-looking quote of another TDREPORT that differs only in XFAM (same report
    // data, MRTD and RTMRs): refused.
    let mut other = td_report();
    other[0x208] ^= 0x01;
    let pki = snp_vtpm_testkit::pki::intel::IntelPki::shared();
    let foreign = pki.td_quote(&other, &quote);
    let server = TestServer::always(quote_answer(&foreign, false));
    let e = client(&server).td_quote(&td_report()).unwrap_err();
    assert!(e.is_malformed(), "{e}");
    assert!(e.to_string().contains("another field differs"), "{e}");
    // The quote of the TDREPORT sent, from the same PKI: accepted.
    let own = pki.td_quote(&td_report(), &quote);
    let server = TestServer::always(quote_answer(&own, false));
    assert_eq!(client(&server).td_quote(&td_report()).unwrap(), own);
}
