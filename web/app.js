// The verification page: reads the inputs, calls the WebAssembly verifier (pkg/, built by
// `cargo xtask wasm`) and shows its verdict as a report. Nothing leaves the page.
import init, { verify, decode, capturePolicy, pcrPurpose, version } from './pkg/snp_vtpm.js';

const $ = (id) => document.getElementById(id);
const files = { chain: null, collateral: null };

/** The vTPM half of the chain, the same on both platforms: from the HCL report's runtime
 * claims to the quote and the event log. */
const VTPM_STAGES = [
  ['runtime claims = report_data', ['report_data_binding']],
  ['attestation key from the claims', ['ak_from_claims', 'ak_certificate']],
  ['TPM quote (signature, nonce, PCRs)', ['qualified_signer', 'quote_signature', 'nonce', 'pcr_digest']],
  ['event log replays to the PCRs', ['event_log']],
];

/** The stages of the chain of trust and the verdict's checks each covers. */
const STAGES = {
  SNP: [
    ['evidence read', ['input']],
    ['AMD root (pinned) → ASK', ['chain', 'certificates']],
    ['VCEK (chip, TCB, not revoked)', ['vcek_binding', 'revocation']],
    ['SNP report signed by the VCEK', ['report_signature']],
    ...VTPM_STAGES,
    ['policy (firmware, TCB, PCRs, freshness)', ['firmware_identity', 'policy', 'report_freshness']],
  ],
  TDX: [
    ['evidence read', ['input']],
    ['Intel SGX root (pinned) → PCK → QE → TD quote', ['td_quote', 'certificates', 'chain']],
    ['TD quote = the HCL report\'s TDREPORT', ['td_report_binding']],
    ...VTPM_STAGES,
    ['policy (MRTD, TCB status, PCRs, freshness)', ['firmware_identity', 'policy', 'report_freshness']],
  ],
};

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function row(table, name, value) {
  const tr = el('tr');
  tr.append(el('th', name), el('td', value === undefined || value === null ? '-' : String(value), 'value'));
  table.append(tr);
}

async function readFile(input) {
  const file = input.files && input.files[0];
  return file ? new Uint8Array(await file.arrayBuffer()) : null;
}

function nonce() {
  if ($('no-nonce').checked) return null;
  const text = $('nonce').value.trim();
  if (!$('nonce-hex').checked) return text;
  const digits = text.replace(/^0x/i, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) return text; // the verifier names the mismatch
  return Uint8Array.from(digits.match(/../g) || [], (pair) => parseInt(pair, 16));
}

function options() {
  const opts = {};
  const preset = $('preset').value;
  if (preset === 'custom') opts.policy = $('policy').value;
  else if (preset) opts.preset = preset;
  if (files.chain) opts.chainPem = files.chain;
  if (files.collateral) opts.collateral = files.collateral;
  if ($('at').value) opts.at = Date.parse(`${$('at').value}Z`);
  return opts;
}

/** SNP or TDX: from the verdict, else from the evidence's HCL report. */
function platformOf(result, evidence) {
  if (result.verdict) return result.verdict.platform === 'tdx' || result.verdict.tdx ? 'TDX' : 'SNP';
  const decoded = decode(evidence);
  return decoded.header && decoded.header.report_type === 'TDX' ? 'TDX' : 'SNP';
}

function showChain(result, platform) {
  const list = $('chain-of-trust');
  list.replaceChildren();
  const records = new Map(((result.verdict && result.verdict.checks) || []).map((c) => [c.check, c.outcome]));
  let failedSeen = false;
  for (const [label, checks] of STAGES[platform]) {
    let state;
    if (result.verified) {
      const outcomes = checks.map((c) => records.get(c)).filter(Boolean);
      if (outcomes.length === 0) state = 'passed';
      else state = outcomes.includes('passed') ? 'passed' : 'skipped';
    } else if (checks.includes(result.failed_check)) {
      state = 'failed';
      failedSeen = true;
    } else {
      state = failedSeen ? 'idle' : 'passed';
    }
    const item = el('li', label, state);
    item.dataset.state = state;
    item.title = checks.join(', ');
    list.append(item);
  }
}

function showClaims(verdict) {
  const table = $('claims');
  table.replaceChildren();
  if (!verdict) return;
  const report = verdict.report;
  if (report) {
    const tcb = report.tcb.reported;
    row(table, 'product', report.product);
    row(table, 'signed by', `${report.signing_key} (report version ${report.report_version})`);
    row(table, 'firmware', (verdict.firmware.catalog_entries || []).join(', ') || 'identified by the policy');
    row(table, 'ID-key digest', report.id_key_digest);
    row(table, 'measurement', report.measurement);
    row(table, 'VMPL', report.vmpl);
    row(table, 'guest policy', `debug ${report.policy.debug_allowed}, migration agent ${report.policy.migrate_ma_allowed}, SMT ${report.policy.smt_allowed}`);
    row(table, 'reported TCB', Object.entries(tcb).map(([k, v]) => `${k} ${v}`).join(', '));
    row(table, 'chip id', report.chip_id);
    row(table, 'revocation', verdict.revocation && verdict.revocation.status ? verdict.revocation.status : JSON.stringify(verdict.revocation));
  }
  if (verdict.tdx) {
    for (const [key, value] of Object.entries(verdict.tdx)) {
      row(table, key, typeof value === 'object' ? JSON.stringify(value) : value);
    }
  }
  const config = verdict.vm_configuration;
  if (config) {
    row(table, 'vm-configuration', `secure boot ${config.secure_boot}, TPM ${config.tpm_enabled}, console ${config.console_enabled}, VM ${config.vm_unique_id}`);
  }
  row(table, 'nonce checked', verdict.nonce_checked);
  row(table, 'report bound to the nonce', verdict.report_bound_to_nonce);
  row(table, 'AK fingerprint', verdict.ak_fingerprint);
  row(table, 'AK certificate', verdict.ak_certificate.status + (verdict.ak_certificate.vm_id ? ` (VM ${verdict.ak_certificate.vm_id})` : ''));
  for (const warning of verdict.warnings || []) row(table, 'warning', warning);
}

function showPcrs(verdict) {
  const table = $('pcrs');
  table.replaceChildren();
  if (!verdict) return;
  for (const bank of verdict.quote.pcrs) {
    for (const [index, value] of bank.values) {
      const tr = el('tr');
      tr.dataset.pcr = index;
      tr.append(el('th', `${bank.bank}:${index}`), el('td', pcrPurpose(index)), el('td', value, 'value'));
      table.append(tr);
    }
  }
}

function showBoot(verdict) {
  const log = verdict && verdict.event_log;
  $('boot').hidden = !log;
  const list = $('timeline');
  list.replaceChildren();
  if (!log) return;
  list.append(el('li', `Secure Boot: ${log.secure_boot === null ? 'not measured' : log.secure_boot ? 'on' : 'off'}`));
  for (const app of log.boot_chain || []) list.append(el('li', `booted ${app.path || '(image in memory)'}`));
  for (const cmdline of log.kernel_cmdlines || []) list.append(el('li', `kernel command line: ${cmdline}`));
  list.append(el('li', `${log.events} events, replayed to the quoted PCRs`));
}

async function run() {
  const evidence = $('evidence').value;
  const started = performance.now();
  const result = verify(evidence, nonce(), options());
  const elapsed = performance.now() - started;
  $('result').hidden = false;
  const headline = $('headline');
  headline.textContent = result.verified ? 'VERIFIED' : `NOT VERIFIED: ${result.failed_check}`;
  headline.className = result.verified ? 'ok' : 'bad';
  $('failure').hidden = result.verified;
  $('failure').textContent = result.verified ? '' : `${result.error}${result.hint ? `\nhint: ${result.hint}` : ''}`;
  showChain(result, platformOf(result, evidence));
    $('details').hidden = !result.verdict;
  showClaims(result.verdict);
  showPcrs(result.verdict);
  showBoot(result.verdict);
  $('json').textContent = JSON.stringify(result, null, 2);
  $('status').textContent = `checked in ${elapsed.toFixed(1)} ms`;
  $('status').dataset.milliseconds = elapsed.toFixed(3);
  $('download-policy').disabled = !result.verified || nonce() === null;
  document.body.dataset.state = result.verified ? 'verified' : 'failed';
}

function downloadPolicy() {
  const captured = capturePolicy($('evidence').value, nonce(), options());
  if (!captured.verified) {
    $('status').textContent = `no policy: ${captured.error}`;
    return;
  }
  const link = el('a');
  link.href = URL.createObjectURL(new Blob([captured.policy], { type: 'application/toml' }));
  link.download = 'policy.toml';
    link.click();
  // Some browsers start the download after click() returns: release the blob a little later.
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

async function loadEvidenceFile(file) {
  $('evidence').value = await file.text();
}

async function main() {
  await init();
  const info = version();
  $('version').textContent = `snp-vtpm ${info.version}, commit ${info.commit}; firmware catalog ${info.firmware_catalog_version}`;
  $('verify').disabled = false;
  $('status').textContent = 'ready';
  document.body.dataset.state = 'ready';
  $('verify').addEventListener('click', run);
  $('download-policy').addEventListener('click', downloadPolicy);
  $('preset').addEventListener('change', () => { $('policy').hidden = $('preset').value !== 'custom'; });
  $('evidence-file').addEventListener('change', async (event) => {
    if (event.target.files[0]) await loadEvidenceFile(event.target.files[0]);
  });
  $('chain').addEventListener('change', async (event) => { files.chain = await readFile(event.target); });
  $('collateral').addEventListener('change', async (event) => { files.collateral = await readFile(event.target); });
  const drop = $('drop');
  drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    if (event.dataTransfer.files[0]) await loadEvidenceFile(event.dataTransfer.files[0]);
  });
}

main().catch((error) => {
  $('status').textContent = `the verifier did not load: ${error}`;
  document.body.dataset.state = 'broken';
});
