//! The local run: swtpm, certificate service, relying party and attester on one machine; an
//! Azure SEV-SNP CVM by default, an Azure TDX CVM with `--tdx`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hcl_parse::Generation;
use serde_json::Value;
use snp_vtpm::fetch::FetchOptions;
use snp_vtpm::vtpm_akcert::VtpmAnchors;
use snp_vtpm::{EvidencePolicy, Verifier};
use snp_vtpm_testkit::azure::TEST_FIRMWARE_ID_KEY_DIGEST;
use snp_vtpm_testkit::pki::intel::IntelPki;
use snp_vtpm_testkit::pki::vtpm::VtpmPki;
use snp_vtpm_testkit::pki::{TestPki, pem_certificate};
use snp_vtpm_testkit::swtpm::Swtpm;

use crate::cert_service::CertService;
use crate::http::{self, Server};
use crate::paravisor;
use crate::relying_party::RelyingParty;
use crate::report::{Attack, RunReport};

/// Options of the local run.
#[derive(Debug, Clone, Default)]
pub struct LocalOptions {
    /// Print a JSON document at the end instead of progress lines.
    pub json: bool,
    /// An Azure TDX CVM instead of SEV-SNP: a TDX HCL report, TD quotes from the IMDS
    /// stand-in signed by a test Intel PKI, collateral from a loopback PCS.
    pub tdx: bool,
}

/// The secret the relying party guards.
const SECRET: &str = "the-relying-party's-secret: 7f3a9c";

/// The ID-key digest (SNP) or MRTD (TDX) of firmware the relying party does not know.
const UNKNOWN_FIRMWARE: [u8; 48] = [0x55; 48];

/// A temporary folder removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("snp-vtpm-attest-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The `snp-vtpm` binary next to this one (both are built by `cargo xtask attest`).
pub(crate) fn snp_vtpm_binary() -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = me.parent().ok_or("no folder")?;
    // Integration tests run from target/<profile>/deps.
    for candidate in [dir.join("snp-vtpm"), dir.join("../snp-vtpm")] {
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "snp-vtpm is not built next to {} (run `cargo build -p snp-vtpm`)",
        me.display()
    ))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The relying party's policy: Azure's strict preset (the AK certificate required) plus the
/// test firmware's ID-key digest, and a report bound to the nonce. On TDX: the azure-tdx preset
/// (the paravisor's MRTD, TCB UpToDate or SWHardeningNeeded), the AK certificate required, and
/// a report bound to the nonce.
fn relying_party_policy(tdx: bool) -> Result<EvidencePolicy, String> {
    let (document, preset) = if tdx {
        (
            serde_json::json!({
                "require_report_bound_to_nonce": true,
                "ak_certificate": "required",
            }),
            "azure-tdx",
        )
    } else {
        (
            serde_json::json!({
                "require_report_bound_to_nonce": true,
                "report": { "allowed_id_key_digests": [hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)] },
            }),
            "azure-cvm-strict",
        )
    };
    EvidencePolicy::from_document(document, preset).map_err(|e| e.to_string())
}

/// The relying party's verifier: the test AMD (or Intel) and vTPM roots pinned.
fn relying_party_verifier(pki: &TestPki, tdx: bool) -> Result<Verifier, String> {
    let verifier = Verifier::with_anchors(pki.trust_anchors(), relying_party_policy(tdx)?)
        .with_vtpm_anchors(VtpmAnchors::test_root(&VtpmPki::shared().root));
    Ok(if tdx {
        verifier.with_intel_roots(IntelPki::shared().roots())
    } else {
        verifier
    })
}

struct Parties {
    relying_party: Server,
    certs: CertService,
    sim: Swtpm,
    modulus: Vec<u8>,
    dir: TempDir,
    binary: PathBuf,
    tdx: bool,
}

impl Parties {
    fn challenge(&self) -> Result<Vec<u8>, String> {
        let (status, body) = http::request(
            &format!("{}/challenge", self.relying_party.url()),
            "POST",
            &[],
            b"",
        )
        .map_err(|e| e.to_string())?;
        let answer: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        let nonce = answer["nonce"]
            .as_str()
            .filter(|_| status == 200)
            .ok_or(format!("no nonce ({status})"))?;
        hex::decode(nonce).map_err(|e| e.to_string())
    }

    /// Runs `snp-vtpm evidence --fresh` against the simulator, certificates from loopback.
    fn evidence(&self, nonce: &[u8]) -> Result<Vec<u8>, String> {
        let out = self.dir.0.join("evidence.json");
        let output = Command::new(&self.binary)
            .args([
                "evidence",
                "--nonce-hex",
                &hex::encode(nonce),
                "--fresh",
                "--tcti",
                &self.sim.tcti(),
            ])
            .args([
                "--imds-url",
                &self.certs.url(),
                "--kds-url",
                &self.certs.url(),
            ])
            .arg("--cache-dir")
            .arg(self.dir.0.join("cache"))
            // The test PKI's roots instead of AMD's: fetched certificates must verify under them.
            .arg("--trust-ca")
            .arg(self.dir.0.join("test-roots.pem"))
            // The test vTPM root instead of Azure's: the AK certificate's issuers are fetched
            // from the loopback service and cached once their path ends there.
            .arg("--trust-vtpm-root")
            .arg(self.dir.0.join("test-vtpm-root.pem"))
            .arg("-o")
            .arg(&out)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        if !output.status.success() {
            return Err(format!(
                "snp-vtpm evidence failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        std::fs::read(&out).map_err(|e| e.to_string())
    }

    fn submit(&self, nonce: &[u8], evidence: &[u8]) -> Result<(u16, Value), String> {
        let url = format!(
            "{}/attest?nonce={}",
            self.relying_party.url(),
            hex::encode(nonce)
        );
        let (status, body) = http::request(
            &url,
            "POST",
            &[("Content-Type", "application/json")],
            evidence,
        )
        .map_err(|e| e.to_string())?;
        Ok((
            status,
            serde_json::from_slice(&body).map_err(|e| e.to_string())?,
        ))
    }

    /// The paravisor stand-in's report bound to `nonce`, its claims naming `modulus`, from
    /// `firmware` (the ID-key digest on SNP; on TDX, the sample paravisor's MRTD unless
    /// `firmware` is [`UNKNOWN_FIRMWARE`]).
    fn bound_report_for(
        &self,
        pki: &TestPki,
        modulus: &[u8],
        nonce: &[u8],
        firmware: [u8; 48],
    ) -> Result<(), String> {
        if self.tdx {
            let mr_td = (firmware == UNKNOWN_FIRMWARE).then_some(firmware);
            paravisor::write_bound_tdx_report(&self.sim.tcti(), modulus, nonce, mr_td)
        } else {
            paravisor::write_bound_report(&self.sim.tcti(), pki, modulus, nonce, firmware)
        }
    }

    fn bound_report(&self, pki: &TestPki, nonce: &[u8], firmware: [u8; 48]) -> Result<(), String> {
        self.bound_report_for(pki, &self.modulus, nonce, firmware)
    }
}

fn attack(
    name: &'static str,
    expected_check: &'static str,
    (status, answer): (u16, Value),
) -> Attack {
    Attack {
        name,
        status,
        failed_check: answer["failed_check"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        error: answer["error"].as_str().unwrap_or_default().to_string(),
        expected_check,
    }
}

/// Runs the whole flow; the report says what happened.
pub fn run_local(options: &LocalOptions) -> Result<RunReport, String> {
    let mut report = RunReport {
        verbose: !options.json,
        ..RunReport::default()
    };
    let tdx = options.tdx;
    if report.verbose {
        eprintln!(
            "cargo xtask attest{}: remote attestation of an Azure {} CVM on a simulated vTPM (swtpm), all on 127.0.0.1",
            if tdx { " --tdx" } else { "" },
            if tdx { "TDX" } else { "SEV-SNP" }
        );
    }
    let binary = snp_vtpm_binary()?;
    let pki: &'static TestPki = report.step(
        "test PKI (ARK, ASK, VCEK shaped like AMD's; cached)",
        || {
            let pki = TestPki::shared();
            pki.product(Generation::Milan);
            Ok(pki)
        },
    )?;
    let dir = TempDir::new()?;
    let roots = dir.0.join("test-roots.pem");
    std::fs::write(&roots, pki.product(Generation::Milan).vcek_chain_pem())
        .map_err(|e| format!("cannot write {}: {e}", roots.display()))?;
    let vtpm_root = dir.0.join("test-vtpm-root.pem");
    std::fs::write(&vtpm_root, pem_certificate(&VtpmPki::shared().root))
        .map_err(|e| format!("cannot write {}: {e}", vtpm_root.display()))?;
    let sim = report.step("swtpm on loopback with a fresh state", || {
        Swtpm::start().map_err(|e| e.to_string())
    })?;
    report.pids.push(sim.pid());
    let modulus = report.step(
        "provision an Azure-like vTPM (AK 0x81000003 in the endorsement hierarchy, NV 0x01400001)",
        || paravisor::provision(&sim.tcti(), pki, tdx),
    )?;
    let certs = report.step(
        if tdx {
            "certificate service (IMDS quoting service and PCS paths of a test Intel PKI, test vTPM CAs) on 127.0.0.1"
        } else {
            "certificate service (IMDS THIM + KDS paths, test vTPM CAs) on 127.0.0.1"
        },
        || CertService::start(pki, Generation::Milan, now()).map_err(|e| e.to_string()),
    )?;
    report.step(
        "vTPM service stand-in: AK certificate under a test vTPM CA in NV 0x01C101D0 (its issuer published by AIA, not shipped)",
        || paravisor::install_ak_certificate(&sim.tcti(), &certs.ak_certificate(&modulus)?),
    )?;
    let relying_party_step = if tdx {
        "relying party on 127.0.0.1 (test Intel and vTPM roots trusted, azure-tdx policy, fresh report and AK certificate required, collateral from the loopback PCS)"
    } else {
        "relying party on 127.0.0.1 (test AMD and vTPM roots trusted, test firmware allowed, fresh report and AK certificate required)"
    };
    let relying_party = report.step(relying_party_step, || {
        let mut party = RelyingParty::new(
            relying_party_verifier(pki, tdx)?,
            SECRET,
            Duration::from_secs(30),
        );
        if tdx {
            // No disk cache: every verification asks the PCS, so a new advisory counts at once.
            let source = FetchOptions {
                pcs_urls: vec![certs.url()],
                root_ca_crl_url: Some(certs.root_ca_crl_url()),
                intel_roots: Some(IntelPki::shared().roots()),
                no_cache: true,
                ..FetchOptions::default()
            }
            .source()
            .map_err(|e| e.to_string())?;
            party = party.with_collateral_source(source);
        }
        Server::start(move |request| party.handle(request)).map_err(|e| e.to_string())
    })?;
    let parties = Parties {
        relying_party,
        certs,
        sim,
        modulus,
        dir,
        binary,
        tdx,
    };

    // The honest run.
    let nonce = report.step("relying party hands out a single-use nonce", || {
        parties.challenge()
    })?;
    report.step(
        "paravisor stand-in: a newly signed report bound to the nonce in NV 0x01400001",
        || parties.bound_report(pki, &nonce, TEST_FIRMWARE_ID_KEY_DIGEST),
    )?;
    let evidence = report.step(
        if tdx {
            "attester: snp-vtpm evidence --fresh (swtpm TCTI, the TD quote from the loopback IMDS quoting service, the AK certificate's issuer by AIA)"
        } else {
            "attester: snp-vtpm evidence --fresh (swtpm TCTI, certificates from the loopback THIM, the AK certificate's issuer by AIA)"
        },
        || parties.evidence(&nonce),
    )?;
    let (status, answer) = report.step("relying party verifies the evidence", || {
        parties.submit(&nonce, &evidence)
    })?;
    if status == 200 {
        report.secret = answer["secret"].as_str().map(String::from);
        report.verdict = Some(answer["verdict"].clone());
        if report.verbose {
            eprintln!(
                "  secret released: {}",
                report.secret.as_deref().unwrap_or_default()
            );
        }
    } else if report.verbose {
        eprintln!("  NOT released ({status}): {}", answer["error"]);
    }

    // Attack 1: replay the evidence with its used nonce.
    let replay = report.step("attack: replay the used nonce and evidence", || {
        parties.submit(&nonce, &evidence)
    })?;
    report
        .attacks
        .push(attack("replayed nonce", "nonce", replay));

    // Attack 2: evidence whose PCR values were altered.
    let nonce = report.step("new nonce", || parties.challenge())?;
    report.step("paravisor stand-in: report bound to the nonce", || {
        parties.bound_report(pki, &nonce, TEST_FIRMWARE_ID_KEY_DIGEST)
    })?;
    let evidence = report.step("attester: evidence", || parties.evidence(&nonce))?;
    let altered = report.step("attack: alter PCR 0 in the evidence", || {
        let mut json: Value = serde_json::from_slice(&evidence).map_err(|e| e.to_string())?;
        json["tpm_quote"]["pcrs"][0] = Value::String("ab".repeat(32));
        parties.submit(&nonce, json.to_string().as_bytes())
    })?;
    report
        .attacks
        .push(attack("altered PCR values", "pcr_digest", altered));

    // Attack 3: evidence from firmware the relying party does not know (same AMD chain).
    let nonce = report.step("new nonce", || parties.challenge())?;
    report.step(
        if tdx {
            "unknown firmware: a TDREPORT with another MRTD than the paravisor's"
        } else {
            "unknown firmware: report signed as firmware with another ID-key digest"
        },
        || parties.bound_report(pki, &nonce, UNKNOWN_FIRMWARE),
    )?;
    let evidence = report.step("attester: evidence", || parties.evidence(&nonce))?;
    let unknown = report.step("attack: submit evidence from unknown firmware", || {
        parties.submit(&nonce, &evidence)
    })?;
    report
        .attacks
        .push(attack("unknown firmware", "firmware_identity", unknown));

    // Attack 4 (TDX): the platform's TCB fell behind (Intel published an advisory), and the
    // VM is attested anyway. The evidence is genuine; the collateral now says OutOfDate.
    if tdx {
        parties
            .certs
            .set_tdx_tcb_status(Some(("OutOfDate", "INTEL-SA-01079")));
        let nonce = report.step("new nonce", || parties.challenge())?;
        report.step(
            "Intel publishes an advisory: the PCS now says every TCB level of the platform is OutOfDate",
            || parties.bound_report(pki, &nonce, TEST_FIRMWARE_ID_KEY_DIGEST),
        )?;
        let evidence = report.step("attester: evidence", || parties.evidence(&nonce))?;
        let out_of_date = report
            .step("attack: attest a platform whose TCB is OutOfDate", || {
                parties.submit(&nonce, &evidence)
            })?;
        report
            .attacks
            .push(attack("TCB OutOfDate", "policy", out_of_date));
        parties.certs.set_tdx_tcb_status(None);
    }

    // Attack 5: the AK at 0x81000003 replaced by another key that the (compromised) report's
    // claims name and that signs the quote; the AK certificate still certifies the original.
    let nonce = report.step("new nonce", || parties.challenge())?;
    let substitute = report.step(
        "guest administrator: replace the AK at 0x81000003 with another key (CVE-2025-49707)",
        || paravisor::substitute_ak(&parties.sim.tcti()),
    )?;
    report.step(
        "report bound to the nonce, its claims naming the substitute key",
        || parties.bound_report_for(pki, &substitute, &nonce, TEST_FIRMWARE_ID_KEY_DIGEST),
    )?;
    let evidence = report.step(
        "attester: evidence (quote signed by the substitute)",
        || parties.evidence(&nonce),
    )?;
    let substituted = report.step(
        "attack: submit a quote signed by a key other than the certified AK",
        || parties.submit(&nonce, &evidence),
    )?;
    report.attacks.push(attack(
        "quote signed by an uncertified key",
        "ak_certificate",
        substituted,
    ));

    drop(parties);
    if report.verbose {
        for attack in &report.attacks {
            let outcome = if attack.refused_as_expected() {
                "refused"
            } else {
                "NOT REFUSED AS EXPECTED"
            };
            eprintln!(
                "  {}: {outcome} ({}: {})",
                attack.name,
                attack.failed_check,
                first_line(&attack.error)
            );
        }
        let total: u128 = report.steps.iter().map(|s| s.millis).sum();
        eprintln!(
            "{} in {total} ms: secret {}, {} of {} attacks refused",
            if report.succeeded() {
                "SUCCESS"
            } else {
                "FAILURE"
            },
            if report.secret.is_some() {
                "released"
            } else {
                "NOT released"
            },
            report
                .attacks
                .iter()
                .filter(|a| a.refused_as_expected())
                .count(),
            report.attacks.len()
        );
    }
    Ok(report)
}

fn first_line(text: &str) -> &str {
    let end = text.find(". ").map_or(text.len(), |i| i + 1);
    text.get(..end.min(160)).unwrap_or(text)
}
