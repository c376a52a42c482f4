// The npm package as a user loads it (`require` of the built package directory), on the real
// vectors: every evidence verifies with the document `snp-vtpm verify --json` prints for the
// same inputs, tampered and garbage input gives failure documents (never a throw), decode and
// capturePolicy work. Run by `cargo xtask wasm --test` (environment: SNP_VTPM_NPM, the built
// package; SNP_VTPM_BIN, the native tool; SNP_VTPM_VECTORS; SNP_VTPM_JS_EVIDENCE, evidence
// files the testkit wrote from vector parts).
'use strict';

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const pkg = require(process.env.SNP_VTPM_NPM);
const vectors = process.env.SNP_VTPM_VECTORS;
const generated = process.env.SNP_VTPM_JS_EVIDENCE;
const nativeTool = process.env.SNP_VTPM_BIN;

const vector = (relative) => fs.readFileSync(path.join(vectors, relative));
const hex = (text) => Uint8Array.from(Buffer.from(text, 'hex'));

/// 2026-02-18T14:04:40Z: inside the TDX sample's collateral and AK certificate.
const TDX_TIME = Date.UTC(2026, 1, 18, 14, 4, 40);
/// 2026-01-01: inside every SNP sample's certificates.
const SNP_TIME = Date.UTC(2026, 0, 1);

/** The real evidence, with what verifies it. */
function samples() {
  return [
    {
      name: 'milan-v2',
      evidence: fs.readFileSync(path.join(generated, 'milan-v2.json')),
      nonce: 'challenge',
      options: { at: SNP_TIME },
      product: 'Milan',
    },
    {
      name: 'milan-v3',
      evidence: vector('azure/milan-v3/evidence-v0.json').toString('utf8'),
      nonce: 'challenge',
      options: { at: new Date(SNP_TIME) },
      product: 'Milan',
    },
    {
      name: 'milan-v3-userdata',
      evidence: vector('azure/milan-v3-userdata/evidence-v2.json'),
      nonce: hex('982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef'),
      options: { at: SNP_TIME, requireFreshReport: true },
      product: 'Milan',
    },
    {
      name: 'genoa-v3',
      evidence: vector('azure/genoa-v3/evidence-genoa.json'),
      nonce: hex('0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f'),
      options: { at: SNP_TIME, chainPem: vector('azure/genoa-v3/vcek-genoa.pem').toString('utf8') },
      product: 'Genoa',
    },
    {
      name: 'tdx-vm1',
      evidence: fs.readFileSync(path.join(generated, 'tdx-vm1.json')),
      nonce: new Uint8Array(32),
      options: {
        at: TDX_TIME,
        collateral: vector('azure/tdx-vm1/intel-collateral.json').toString('utf8'),
      },
      product: null,
    },
  ];
}

/** What the native tool prints for the same inputs. */
function nativeVerdict(sample) {
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'snp-vtpm-js-'));
  try {
    const evidence = path.join(dir, 'evidence.json');
    fs.writeFileSync(evidence, sample.evidence);
    const nonce = typeof sample.nonce === 'string'
      ? ['--nonce', sample.nonce]
      : ['--nonce-hex', Buffer.from(sample.nonce).toString('hex')];
    const args = ['verify', evidence, ...nonce, '--offline', '--json',
      '--at', new Date(sample.options.at).toISOString().replace(/\.\d+Z$/, 'Z')];
    if (sample.options.chainPem) {
      const chain = path.join(dir, 'chain.pem');
      fs.writeFileSync(chain, sample.options.chainPem);
      args.push('--vcek', chain);
    }
    if (sample.options.collateral) {
      const collateral = path.join(dir, 'collateral.json');
      fs.writeFileSync(collateral, sample.options.collateral);
      args.push('--collateral', collateral);
    }
    if (sample.options.requireFreshReport) {
      args.push('--require-fresh-report');
    }
    let stdout;
    try {
      stdout = execFileSync(nativeTool, args, {
        encoding: 'utf8',
        env: { ...process.env, XDG_CACHE_HOME: dir, HOME: dir },
      });
    } catch (failed) {
      stdout = failed.stdout;
    }
    return JSON.parse(stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('every real evidence verifies, with the document the native tool prints', () => {
  for (const sample of samples()) {
    const verdict = pkg.verify(sample.evidence, sample.nonce, sample.options);
    assert.equal(verdict.verified, true, `${sample.name}: ${verdict.error}`);
    assert.equal(verdict.exit_code, 0);
    if (sample.product) {
      assert.equal(verdict.verdict.report.product, sample.product, sample.name);
      assert.ok(verdict.verdict.firmware.catalog_entries.length > 0, sample.name);
    } else {
      assert.equal(verdict.verdict.platform, 'tdx', sample.name);
    }
    assert.deepEqual(verdict, nativeVerdict(sample), `${sample.name}: the package and the tool differ`);
  }
});

test('tampering and a wrong nonce fail with the check named', () => {
  const sample = samples()[1];
  const evidence = JSON.parse(sample.evidence);
  const wrongNonce = pkg.verify(sample.evidence, 'another nonce', sample.options);
  assert.equal(wrongNonce.verified, false);
  assert.equal(wrongNonce.exit_code, 2);
  assert.equal(wrongNonce.failed_check, 'nonce');
  assert.match(wrongNonce.error, /expected/);

  // One bit of the quote's signature flipped.
  evidence.quote.signature[40] ^= 1;
  const tampered = pkg.verify(JSON.stringify(evidence), sample.nonce, sample.options);
  assert.equal(tampered.verified, false);
  assert.equal(tampered.exit_code, 2);
  assert.equal(tampered.failed_check, 'quote_signature');
  assert.deepEqual(tampered, nativeVerdict({ ...sample, evidence: JSON.stringify(evidence) }));

  // Another VM's policy: a policy failure (exit 3).
  const strict = pkg.verify(sample.evidence, sample.nonce, { ...sample.options, preset: 'azure-cvm-strict' });
  assert.equal(strict.verified, false);
  assert.equal(strict.exit_code, 3);
});

test('garbage gives a failure document, never a throw', () => {
  const inputs = [
    ['', 'n'],
    ['garbage', 'n'],
    ['{"version": 2}', 'n'],
    [new Uint8Array([0xff, 0xfe, 0x00]), null],
    [vector('azure/milan-v2/hcl-report.bin'), 'n'],
  ];
  let seed = 7;
  const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed; };
  const evidence = vector('azure/milan-v3/evidence-v0.json');
  for (let i = 0; i < 200; i += 1) {
    const cut = evidence.subarray(0, random() % evidence.length);
    const bytes = Uint8Array.from(cut);
    if (bytes.length > 0) {
      bytes[random() % bytes.length] = random() % 256;
    }
    inputs.push([bytes, 'challenge']);
  }
  for (const [input, nonce] of inputs) {
    const verdict = pkg.verify(input, nonce, { at: SNP_TIME });
    assert.equal(verdict.verified, false);
    assert.ok(verdict.exit_code >= 1 && verdict.exit_code <= 4, JSON.stringify(verdict));
    assert.equal(typeof verdict.error, 'string');
    const decoded = pkg.decode(input);
    assert.equal(typeof decoded, 'object');
  }
  // Wrong argument types are input errors too.
  for (const [evidence, nonce, options] of [
    [42, 'n', undefined],
    ['{}', 42, undefined],
    ['{}', 'n', 'not an object'],
    ['{}', 'n', { at: 'yesterday' }],
    ['{}', 'n', { at: -1 }],
    ['{}', 'n', { pcrs: [99] }],
    ['{}', 'n', { allowUnknownFirmware: 'yes' }],
    ['{}', 'n', { preset: 'no-such-preset' }],
  ]) {
    const verdict = pkg.verify(evidence, nonce, options);
    assert.equal(verdict.exit_code, 1, JSON.stringify(verdict));
    assert.equal(verdict.failed_check, 'input');
  }
});

test('decode returns what `snp-vtpm show --json` prints', () => {
  for (const file of ['azure/milan-v2/hcl-report.bin', 'azure/milan-v3/evidence-v0.json', 'azure/tdx-vm1/td-quote.bin']) {
    const decoded = pkg.decode(vector(file));
    const shown = JSON.parse(execFileSync(nativeTool, ['show', path.join(vectors, file), '--json'], { encoding: 'utf8' }));
    // Certificates' validity is judged at "now", which differs by the second between the two.
    const withoutValidity = (value) => JSON.parse(JSON.stringify(value, (key, v) => (key === 'validity' ? undefined : v)));
    assert.deepEqual(withoutValidity(decoded), withoutValidity(shown), file);
  }
  const vcek = pkg.decode(vector('azure/milan-v2/vcek.pem').toString('utf8'));
  assert.equal(vcek.certificates[0].amd_extensions.product_name, 'Milan-B0');
  assert.equal(pkg.decode('nothing known').exit_code, 1);
});

test('capturePolicy writes a policy that accepts its VM and refuses another', () => {
  const [, milan, , genoa] = samples();
  const captured = pkg.capturePolicy(milan.evidence, milan.nonce, milan.options);
  assert.equal(captured.verified, true, captured.error);
  assert.match(captured.policy, /\[report\]/);
  const again = pkg.verify(milan.evidence, milan.nonce, { ...milan.options, policy: captured.policy });
  assert.equal(again.verified, true, again.error);
  const other = pkg.verify(genoa.evidence, genoa.nonce, { ...genoa.options, policy: captured.policy });
  assert.equal(other.verified, false);
  assert.equal(other.exit_code, 3, other.error);
  const noNonce = pkg.capturePolicy(milan.evidence, null, milan.options);
  assert.equal(noNonce.exit_code, 1);
});

test('version names the commit and what the build trusts', () => {
  const info = pkg.version();
  assert.match(info.commit, /^([0-9a-f]{40}(-dirty)?|unknown)$/);
  assert.ok(info.pinned_certificates.some((pin) => pin.name === 'AMD Milan ARK'));
  assert.ok(info.presets.some((preset) => preset.name === 'azure-cvm'));
  const native = execFileSync(nativeTool, ['--version'], { encoding: 'utf8' });
  for (const preset of info.presets) {
    assert.ok(native.includes(preset.sha256), `${preset.name}: the tool applies another policy`);
  }
});

test('the typings describe the verdict', () => {
  const typings = fs.readFileSync(path.join(process.env.SNP_VTPM_NPM, 'snp_vtpm.d.ts'), 'utf8');
  assert.match(typings, /export interface Verdict \{/);
  assert.match(typings, /export function verify\(evidence: string \| Uint8Array, nonce: string \| Uint8Array \| null, options\??: VerifyOptions( \| undefined)?\): Verdict;/);
  assert.match(typings, /export function capturePolicy\(/);
});

test('arguments are read safely: no throw, no trap, own properties only', () => {
  const sample = samples()[1];
  const at = SNP_TIME;
  // Leaving the nonce out is an error; only null skips the check, and the verdict says so.
  const missing = pkg.verify(sample.evidence, undefined, { at });
  assert.equal(missing.exit_code, 1);
  assert.match(missing.error, /nonce is required/);
  assert.equal(pkg.verify(sample.evidence).exit_code, 1);
  const skipped = pkg.verify(sample.evidence, null, { at });
  assert.equal(skipped.verified, true);
  assert.equal(skipped.verdict.nonce_checked, false);

  // A polluted Object.prototype changes nothing.
  const emptyCatalog = JSON.stringify({ format: 1, version: 'x', replace: true, entries: [] });
  Object.prototype.allowUnknownFirmware = true;
  try {
    const polluted = pkg.verify(sample.evidence, 'challenge', { at, firmwareCatalog: emptyCatalog });
    assert.equal(polluted.verified, false);
    assert.equal(polluted.failed_check, 'firmware_identity');
  } finally {
    delete Object.prototype.allowUnknownFirmware;
  }

  // Getters and Proxies that throw, detached buffers, odd typed arrays: input errors.
  const detached = new Uint8Array(8);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  const hostile = [
    [sample.evidence, 'challenge', { at, get policy() { throw new Error('boom'); } }],
    [sample.evidence, 'challenge', new Proxy({}, { ownKeys() { throw new Error('boom'); } })],
    [new Proxy(new Uint8Array(4), {}), 'challenge', { at }],
    [sample.evidence, '\uD800', { at }],
    [sample.evidence, 'challenge', { at, pcrs: new Proxy([], { get() { throw 0; } }) }],
    [sample.evidence, 'challenge', { at, unknownOption: 1 }],
    [sample.evidence, 'challenge', { at, allowUnknownFirmware: 'true' }],
    ['x'.repeat(2 * 1024 * 1024), 'challenge', { at }],
  ];
  for (let round = 0; round < 300; round += 1) {
    for (const [evidence, nonce, options] of hostile) {
      const verdict = pkg.verify(evidence, nonce, options);
      assert.equal(verdict.exit_code, 1, JSON.stringify(verdict));
    }
    assert.equal(pkg.decode(detached).exit_code === undefined ? 'decoded' : pkg.decode(detached).exit_code, 1);
  }
  // A Date's own time is read, not an override.
  const sneaky = new (class extends Date { getTime() { throw new Error('not called'); } })(at);
  assert.equal(pkg.verify(sample.evidence, 'challenge', { at: sneaky }).verified, true);
  // After thousands of refused calls the module still works.
  assert.equal(pkg.verify(sample.evidence, 'challenge', { at }).verified, true);
  // A Buffer (Node's Uint8Array) is bytes.
  assert.equal(pkg.verify(Buffer.from(sample.evidence), Buffer.from('challenge'), { at }).verified, true);
  assert.equal(pkg.pcrPurpose(260), 'no such PCR');
  assert.equal(pkg.pcrPurpose(Symbol('x')), 'no such PCR');
  assert.match(pkg.pcrPurpose(7), /Secure Boot/);
});
