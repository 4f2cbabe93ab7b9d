// The web application's own logic, without a browser: what the New Request dialog makes of
// a pasted list of serial numbers, which field an API error names, the file name of a
// download, and the check of a voucher's inclusion proof against its checkpoint (RFC 9162),
// against trees built here independently of the page's code.
import {test} from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import {ApiError, fieldOf, fileNameOf} from '../../web/assets/js/api.js';
import {checkSerials, MAX_SERIALS, parseSerials} from '../../web/assets/js/new-request.js';
import {checkProof} from '../../web/assets/js/pages/voucher.js';

test('serial numbers pasted or from a file', () => {
  assert.deepEqual(parseSerials('SN-1\nSN-2, SN-3;SN-4\tSN-5  \n\n'), ['SN-1', 'SN-2', 'SN-3', 'SN-4', 'SN-5']);
  assert.deepEqual(parseSerials('serial_number\r\nSN-1\r\nSN-2\r\n'), ['SN-1', 'SN-2']);  // a CSV header
  assert.equal(checkSerials(['SN-1', 'SN-2']), '');
  assert.match(checkSerials([]), /at least one/);
  assert.match(checkSerials(['A', 'B', 'A', 'C', 'B']), /more than once: A, B/);
  const many = Array.from({length: MAX_SERIALS + 1}, (_, i) => `S${i}`);
  assert.match(checkSerials(many), /At most 20 .* 21/);
  assert.equal(checkSerials(many.slice(0, MAX_SERIALS)), '');
  assert.match(checkSerials(['x'.repeat(65)]), /1 to 64 printable/);
  assert.match(checkSerials(['SN-é']), /printable/);
});

test('the field an API error names', () => {
  assert.equal(fieldOf('serial_numbers: SN-1 is listed twice'), 'serial_numbers');
  assert.equal(fieldOf('serial_numbers[3]: must be a non-empty string'), 'serial_numbers');
  assert.equal(fieldOf('pdc, cert_id: give exactly one'), 'pdc');
  assert.equal(fieldOf('query parameter status: must be one of completed'), 'status');
  assert.equal(fieldOf('serials[2].tpm_info.endorsement_key: must be standard base64'), 'serials');
  assert.equal(fieldOf('expires: 2020-01-01T00:00:00Z is not in the future'), 'expires');
  assert.equal(fieldOf('grant (path): must be one of request'), 'grant');
  assert.equal(fieldOf('pinned-domain certificate is not valid now'), '');
  assert.equal(fieldOf('voucher 01a2 is archived'), '');
  assert.equal(fieldOf(''), '');
  // A problem's own "field" member wins over the detail.
  assert.equal(new ApiError({status: 400, detail: 'os_type: unknown', field: 'x'}).field, 'x');
  assert.equal(new ApiError({status: 400, detail: 'os_type: unknown "bsd"'}).field, 'os_type');
});

test('the file name of a download', () => {
  assert.equal(fileNameOf('attachment; filename="SN-0001.vcj"'), 'SN-0001.vcj');
  assert.equal(fileNameOf("attachment; filename*=UTF-8''SN%20%C3%A9.vcj"), 'SN é.vcj');
  assert.equal(fileNameOf('attachment; filename="../../etc/passwd"'), '.._.._etc_passwd');
  assert.equal(fileNameOf(null), '');
});

// ---- RFC 9162 trees built here --------------------------------------------------------

const sha = (...parts) => crypto.createHash('sha256').update(Buffer.concat(parts)).digest();
const leafHash = (leaf) => sha(Buffer.from([0]), leaf);
const nodeHash = (l, r) => sha(Buffer.from([1]), l, r);

// MTH (RFC 9162 2.1.1) of leaves[lo, hi).
function root(leaves, lo = 0, hi = leaves.length) {
  if (hi - lo === 1) return leafHash(leaves[lo]);
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return nodeHash(root(leaves, lo, lo + k), root(leaves, lo + k, hi));
}

// PATH(m, D[lo, hi)) (RFC 9162 2.1.3.1).
function path(m, leaves, lo = 0, hi = leaves.length) {
  if (hi - lo === 1) return [];
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  if (m < k) return [...path(m, leaves, lo, lo + k), root(leaves, lo + k, hi)];
  return [...path(m - k, leaves, lo + k, hi), root(leaves, lo, lo + k)];
}

function proofOf(leaves, m, {size = leaves.length, rootHash = root(leaves)} = {}) {
  return {
    leaf_index: m,
    tree_size: leaves.length,
    leaf: leaves[m].toString('base64'),
    hashes: path(m, leaves).map((h) => h.toString('base64')),
    checkpoint: `masa.test/audit\n${size}\n${rootHash.toString('base64')}\n\n— masa.test/audit AAAA\n`,
  };
}

test('an inclusion proof is checked against the checkpoint root', async () => {
  for (let n = 1; n <= 13; n++) {
    const leaves = Array.from({length: n}, (_, i) => Buffer.from(`audit entry ${i}`));
    for (let m = 0; m < n; m++) {
      const result = await checkProof(proofOf(leaves, m));
      assert.equal(result.ok, true, `size ${n}, leaf ${m}: ${result.message}`);
    }
  }
});

test('a proof that does not lead to the checkpoint root is refused', async () => {
  const leaves = Array.from({length: 7}, (_, i) => Buffer.from(`audit entry ${i}`));
  const good = proofOf(leaves, 3);
  assert.equal((await checkProof({...good, leaf: Buffer.from('another entry').toString('base64')})).ok, false);
  assert.equal((await checkProof({...good, leaf_index: 4})).ok, false);
  assert.equal((await checkProof({...good, hashes: good.hashes.slice(1)})).ok, false);
  assert.equal((await checkProof({...good, hashes: [...good.hashes, good.hashes[0]]})).ok, false);
  assert.equal((await checkProof(proofOf(leaves, 3, {size: 8}))).ok, false);
  assert.equal((await checkProof(proofOf(leaves, 3, {rootHash: sha(Buffer.from('x'))}))).ok, false);
  assert.equal((await checkProof({...good, leaf_index: 7})).ok, false);
});
