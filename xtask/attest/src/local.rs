//! The local run: swtpm, a certificate service, the attestation service (`snp-vtpm-server`),
//! the attester (`snp-vtpm attest --to`) and a relying party (`snp-vtpm verify-token`) on one
//! machine; an Azure SEV-SNP CVM by default, an Azure TDX CVM with `--tdx`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use hcl_parse::Generation;
use serde_json::Value;
use snp_vtpm_testkit::azure::TEST_FIRMWARE_ID_KEY_DIGEST;
use snp_vtpm_testkit::pki::intel::IntelPki;
use snp_vtpm_testkit::pki::vtpm::VtpmPki;
use snp_vtpm_testkit::pki::{TestPki, pem_certificate};
use snp_vtpm_testkit::swtpm::Swtpm;

use crate::cert_service::CertService;
use crate::http;
use crate::paravisor;
use crate::report::{Attack, RunReport};
use crate::service::{Front, ReportSpec, Service, write_file};

/// Options of the local run.
#[derive(Debug, Clone, Default)]
pub struct LocalOptions {
    /// Print a JSON document at the end instead of progress lines.
    pub json: bool,
    /// An Azure TDX CVM instead of SEV-SNP: a TDX HCL report, TD quotes from the IMDS
    /// stand-in signed by a test Intel PKI, collateral from a loopback PCS.
    pub tdx: bool,
}

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

/// A binary built next to this one (`cargo xtask attest` builds `snp-vtpm` and
/// `snp-vtpm-server`).
pub(crate) fn sibling_binary(name: &str) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = me.parent().ok_or("no folder")?;
    // Integration tests run from target/<profile>/deps.
    for candidate in [dir.join(name), dir.join("..").join(name)] {
        if candidate.exists() {
            return Ok(candidate);
        }
    }
    Err(format!(
        "{name} is not built next to {} (run `cargo build -p {name}`)",
        me.display()
    ))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The service's SEV-SNP policy: Azure's strict preset (the AK certificate required) plus the
/// test firmware's ID-key digest, and a report bound to the nonce.
fn snp_policy() -> String {
    format!(
        "extends = \"azure-cvm-strict\"\nrequire_report_bound_to_nonce = true\n[report]\nallowed_id_key_digests = [\"{}\"]\n",
        hex::encode(TEST_FIRMWARE_ID_KEY_DIGEST)
    )
}

/// The service's TDX policy: the azure-tdx preset (the paravisor's MRTD, TCB UpToDate or
/// SWHardeningNeeded), the AK certificate required, and a report bound to the nonce.
const TDX_POLICY: &str = "extends = \"azure-tdx\"\nrequire_report_bound_to_nonce = true\nak_certificate = \"required\"\n";

struct Parties {
    front: Front,
    service: Service,
    certs: CertService,
    sim: Swtpm,
    dir: TempDir,
    binary: PathBuf,
}

impl Parties {
    /// A challenge through the front: the paravisor stand-in writes the report bound to it.
    fn challenge(&self) -> Result<Vec<u8>, String> {
        let (status, body) =
            http::request(&format!("{}/challenge", self.front.url()), "POST", &[], b"")
                .map_err(|e| e.to_string())?;
        let answer: Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        let nonce = answer["nonce"]
            .as_str()
            .filter(|_| status == 200)
            .ok_or(format!("no nonce ({status}): {answer}"))?;
        hex::decode(nonce).map_err(|e| e.to_string())
    }

    /// The attester's certificate options: loopback IMDS and KDS, checked under the test
    /// roots (`--trust-ca`), the AK certificate's issuer fetched by AIA and checked under the
    /// test vTPM root.
    fn attester_options(&self, command: &mut Command) {
        command
            .args(["--tcti", &self.sim.tcti()])
            .args(["--imds-url", &self.certs.url()])
            .args(["--kds-url", &self.certs.url()])
            .arg("--cache-dir")
            .arg(self.dir.0.join("cache"))
            .arg("--trust-ca")
            .arg(self.dir.0.join("test-roots.pem"))
            .arg("--trust-vtpm-root")
            .arg(self.dir.0.join("test-vtpm-root.pem"));
    }

    /// Runs `snp-vtpm evidence --fresh` against the simulator for a nonce already issued.
    fn evidence(&self, nonce: &[u8]) -> Result<Vec<u8>, String> {
        let out = self.dir.0.join("evidence.json");
        let mut command = Command::new(&self.binary);
        command.args(["evidence", "--nonce-hex", &hex::encode(nonce), "--fresh"]);
        self.attester_options(&mut command);
        let output = command
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

    /// The guest client: `snp-vtpm attest --to FRONT --json`, keeping the evidence it posts.
    /// Its document (`token`, `jwks`, `verdict`) and the evidence.
    fn attest(&self) -> Result<(Value, Vec<u8>), String> {
        let saved = self.dir.0.join("attested-evidence.json");
        let mut command = Command::new(&self.binary);
        command.args(["attest", "--to", &self.front.url(), "--json"]);
        self.attester_options(&mut command);
        let output = command
            .arg("--save-evidence")
            .arg(&saved)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        let document: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
            format!(
                "snp-vtpm attest printed no JSON ({e}): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )
        })?;
        if !output.status.success() {
            return Err(format!(
                "snp-vtpm attest exited {:?}: {}",
                output.status.code(),
                document["error"]
            ));
        }
        let evidence = std::fs::read(&saved).map_err(|e| e.to_string())?;
        Ok((document, evidence))
    }

    /// The relying party's side: `snp-vtpm verify-token TOKEN --jwks SERVICE/.well-known/...`
    /// with its nonce, affirming status required. The document it prints.
    fn verify_token(&self, token: &str, nonce_hex: &str) -> Result<Value, String> {
        let output = Command::new(&self.binary)
            .args(["verify-token", token, "--json", "--nonce-hex", nonce_hex])
            .args(["--require-status", "affirming", "--jwks"])
            .arg(format!("{}/.well-known/jwks.json", self.service.url()))
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        let document: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
            format!(
                "snp-vtpm verify-token printed no JSON ({e}): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )
        })?;
        if !output.status.success() {
            return Err(format!(
                "the token does not verify (exit {:?}): {document}",
                output.status.code()
            ));
        }
        Ok(document)
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

/// The service's options: the test roots (the clearly named test options), the policies, a
/// signing key made with `--generate-key`, certificates and collateral from the loopback
/// service with no cache (so a newly published advisory counts at once).
fn service_options(
    server: &Path,
    dir: &Path,
    certs: &CertService,
    tdx: bool,
) -> Result<Vec<OsString>, String> {
    let key = dir.join("signing-key.pem");
    let generated = Command::new(server)
        .arg("--generate-key")
        .arg(&key)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", server.display()))?;
    if !generated.status.success() {
        return Err(format!(
            "snp-vtpm-server --generate-key: {}",
            String::from_utf8_lossy(&generated.stderr).trim()
        ));
    }
    let mut options: Vec<OsString> = Vec::new();
    let mut option = |name: &str, value: &dyn AsRef<std::ffi::OsStr>| {
        options.push(name.into());
        options.push(value.as_ref().to_os_string());
    };
    option("--signing-key", &key);
    option(
        "--policy",
        &write_file(dir, "policy.toml", snp_policy().as_bytes())?,
    );
    option(
        "--tdx-policy",
        &write_file(dir, "tdx-policy.toml", TDX_POLICY.as_bytes())?,
    );
    option("--trust-test-amd-roots", &dir.join("test-roots.pem"));
    option("--trust-test-vtpm-root", &dir.join("test-vtpm-root.pem"));
    option("--kds-url", &certs.url());
    option("--cache-dir", &dir.join("service-cache"));
    if tdx {
        let intel_root = pem_certificate(&IntelPki::shared().root);
        option(
            "--trust-test-intel-root",
            &write_file(dir, "test-intel-root.pem", intel_root.as_bytes())?,
        );
        option("--pcs-url", &certs.url());
        option("--root-ca-crl-url", &certs.root_ca_crl_url());
    }
    options.push("--no-cache".into());
    Ok(options)
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
            "cargo xtask attest{}: remote attestation of an Azure {} CVM on a simulated vTPM (swtpm) to the attestation service, all on 127.0.0.1",
            if tdx { " --tdx" } else { "" },
            if tdx { "TDX" } else { "SEV-SNP" }
        );
    }
    let binary = sibling_binary("snp-vtpm")?;
    let server = sibling_binary("snp-vtpm-server")?;
    let pki: &'static TestPki = report.step(
        "test PKI (ARK, ASK, VCEK shaped like AMD's; cached)",
        || {
            let pki = TestPki::shared();
            pki.product(Generation::Milan);
            Ok(pki)
        },
    )?;
    let dir = TempDir::new()?;
    write_file(
        &dir.0,
        "test-roots.pem",
        pki.product(Generation::Milan).vcek_chain_pem().as_bytes(),
    )?;
    write_file(
        &dir.0,
        "test-vtpm-root.pem",
        pem_certificate(&VtpmPki::shared().root).as_bytes(),
    )?;
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
    let service = report.step(
        if tdx {
            "attestation service: snp-vtpm-server on 127.0.0.1 (test Intel and vTPM roots trusted, azure-tdx policy, fresh report and AK certificate required, collateral from the loopback PCS)"
        } else {
            "attestation service: snp-vtpm-server on 127.0.0.1 (test AMD and vTPM roots trusted, test firmware allowed, fresh report and AK certificate required)"
        },
        || Service::start(&server, &service_options(&server, &dir.0, &certs, tdx)?),
    )?;
    report.pids.push(service.pid());
    let front = report.step(
        "paravisor stand-in in front of the service: as a nonce is issued, a report bound to it goes into NV 0x01400001",
        || {
            Front::start(
                service.url(),
                sim.tcti(),
                pki,
                tdx,
                ReportSpec {
                    ak_modulus: modulus.clone(),
                    firmware: TEST_FIRMWARE_ID_KEY_DIGEST,
                    unknown_firmware: false,
                },
            )
        },
    )?;
    let parties = Parties {
        front,
        service,
        certs,
        sim,
        dir,
        binary,
    };

    // The honest run: the guest client, then the relying party's check of the result.
    let (attested, evidence) = report.step(
        if tdx {
            "attester: snp-vtpm attest --to SERVICE (challenge, fresh report, TD quote from the loopback IMDS quoting service, AK certificate's issuer by AIA; posts the evidence, receives an EAR token)"
        } else {
            "attester: snp-vtpm attest --to SERVICE (challenge, fresh report, certificates from the loopback THIM, AK certificate's issuer by AIA; posts the evidence, receives an EAR token)"
        },
        || parties.attest(),
    )?;
    let token = attested["token"].as_str().unwrap_or_default().to_string();
    let nonce = attested["nonce"].as_str().unwrap_or_default().to_string();
    let claims = report.step(
        "relying party: snp-vtpm verify-token (the service's JWKS, its nonce, status affirming)",
        || parties.verify_token(&token, &nonce),
    )?;
    let cvm = &claims["claims"]["submods"]["cvm"];
    report.verdict = Some(cvm["ear_attester_claims"].clone());
    report.accepted = Some(token);
    if report.verbose {
        eprintln!(
            "  attestation result: {}, trustworthiness {}",
            cvm["ear_status"], cvm["ear_trustworthiness_vector"]
        );
    }

    // Attack 1: replay the evidence with its used nonce.
    let replay = report.step("attack: replay the used nonce and evidence", || {
        parties.service.submit(&evidence)
    })?;
    report
        .attacks
        .push(attack("replayed nonce", "nonce", replay));

    // Attack 2: evidence whose PCR values were altered.
    let nonce = report.step("new nonce (report bound to it)", || parties.challenge())?;
    let evidence = report.step("attester: evidence", || parties.evidence(&nonce))?;
    let altered = report.step("attack: alter PCR 0 in the evidence", || {
        let mut json: Value = serde_json::from_slice(&evidence).map_err(|e| e.to_string())?;
        json["tpm_quote"]["pcrs"][0] = Value::String("ab".repeat(32));
        parties.service.submit(json.to_string().as_bytes())
    })?;
    report
        .attacks
        .push(attack("altered PCR values", "pcr_digest", altered));

    // Attack 3: evidence from firmware the service does not know (same AMD chain).
    parties.front.set(|spec| {
        spec.firmware = UNKNOWN_FIRMWARE;
        spec.unknown_firmware = true;
    });
    let nonce = report.step(
        if tdx {
            "new nonce; unknown firmware: a TDREPORT with another MRTD than the paravisor's"
        } else {
            "new nonce; unknown firmware: report signed as firmware with another ID-key digest"
        },
        || parties.challenge(),
    )?;
    let evidence = report.step("attester: evidence", || parties.evidence(&nonce))?;
    let unknown = report.step("attack: submit evidence from unknown firmware", || {
        parties.service.submit(&evidence)
    })?;
    report
        .attacks
        .push(attack("unknown firmware", "firmware_identity", unknown));
    parties.front.set(|spec| {
        spec.firmware = TEST_FIRMWARE_ID_KEY_DIGEST;
        spec.unknown_firmware = false;
    });

    // Attack 4 (TDX): the platform's TCB fell behind (Intel published an advisory), and the
    // VM is attested anyway. The evidence is genuine; the collateral now says OutOfDate.
    if tdx {
        parties
            .certs
            .set_tdx_tcb_status(Some(("OutOfDate", "INTEL-SA-01079")));
        let nonce = report.step(
            "Intel publishes an advisory: the PCS now says every TCB level of the platform is OutOfDate; new nonce",
            || parties.challenge(),
        )?;
        let evidence = report.step("attester: evidence", || parties.evidence(&nonce))?;
        let out_of_date = report
            .step("attack: attest a platform whose TCB is OutOfDate", || {
                parties.service.submit(&evidence)
            })?;
        report
            .attacks
            .push(attack("TCB OutOfDate", "policy", out_of_date));
        parties.certs.set_tdx_tcb_status(None);
    }

    // Attack 5: the AK at 0x81000003 replaced by another key that the (compromised) report's
    // claims name and that signs the quote; the AK certificate still certifies the original.
    let substitute = report.step(
        "guest administrator: replace the AK at 0x81000003 with another key (CVE-2025-49707)",
        || paravisor::substitute_ak(&parties.sim.tcti()),
    )?;
    parties
        .front
        .set(|spec| spec.ak_modulus = substitute.clone());
    let nonce = report.step(
        "new nonce; the report bound to it names the substitute key in its claims",
        || parties.challenge(),
    )?;
    let evidence = report.step(
        "attester: evidence (quote signed by the substitute)",
        || parties.evidence(&nonce),
    )?;
    let substituted = report.step(
        "attack: submit a quote signed by a key other than the certified AK",
        || parties.service.submit(&evidence),
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
            "{} in {total} ms: attestation result {}, {} of {} attacks refused",
            if report.succeeded() {
                "SUCCESS"
            } else {
                "FAILURE"
            },
            if report.accepted.is_some() {
                "issued and verified"
            } else {
                "NOT issued"
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
