import { createHash } from 'node:crypto';
import {
  EMPTY_TREE_ROOT,
  IncrementalMerkleTree,
  consistencyProof,
  inclusionProof,
  leafHash,
  merkleRoot,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from './merkle-tree';

const recordHash = (i: number): string => createHash('sha256').update(`record ${i}`).digest('hex');
const leavesOf = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => leafHash(recordHash(i)));
const ALL = leavesOf(33);

describe('Merkle tree (RFC 6962)', () => {
  it('matches the Certificate Transparency test vector for 8 leaves', () => {
    // The leaf inputs and root of RFC 6962's reference tests (certificate-transparency merkle_tree_test).
    const inputs = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'];
    const leaves = inputs.map((hex) => createHash('sha256').update(Buffer.from([0])).update(Buffer.from(hex, 'hex')).digest());
    expect(merkleRoot(leaves.slice(0, 1)).toString('hex')).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    expect(merkleRoot(leaves).toString('hex')).toBe('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
  });

  it('hashes leaves and nodes with distinct prefixes', () => {
    const hash = recordHash(1);
    expect(leafHash(hash)).toEqual(createHash('sha256').update(Buffer.concat([Buffer.from([0]), Buffer.from(hash, 'hex')])).digest());
    const [a, b] = [ALL[0]!, ALL[1]!];
    expect(nodeHash(a, b)).toEqual(createHash('sha256').update(Buffer.concat([Buffer.from([1]), a, b])).digest());
    expect(merkleRoot([])).toEqual(EMPTY_TREE_ROOT);
    expect(() => leafHash('not hex')).toThrow();
  });

  it('the incremental tree has the root of the full computation at every size', () => {
    const tree = new IncrementalMerkleTree();
    expect(tree.root()).toEqual(EMPTY_TREE_ROOT);
    for (let n = 1; n <= 33; n++) {
      tree.append(ALL[n - 1]!);
      expect(tree.size).toBe(n);
      expect(tree.root()).toEqual(merkleRoot(ALL.slice(0, n)));
      const snapshot = tree.snapshot();
      expect(new IncrementalMerkleTree(snapshot.size, snapshot.frontier).root()).toEqual(tree.root());
    }
    expect(() => new IncrementalMerkleTree(3, [ALL[0]!])).toThrow();
  });

  it('proves and verifies inclusion of every index of trees of sizes 1..33', () => {
    for (let size = 1; size <= 33; size++) {
      const root = merkleRoot(ALL.slice(0, size));
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(ALL, index, size);
        expect(verifyInclusion(ALL[index]!, index, size, proof, root)).toBe(true);
        // The wrong leaf, the wrong index, a size that excludes the index, a shortened or altered path: all fail.
        expect(verifyInclusion(ALL[(index + 1) % 33]!, index, size, proof, root)).toBe(false);
        if (size > 1) expect(verifyInclusion(ALL[index]!, (index + 1) % size, size, proof, root)).toBe(false);
        // (A wrong size can share the path's shape — e.g. index 0 of 3 and of 4 — so the size is
        // bound by the checkpoint's signature, not by the path; see checkpoint.test.ts.)
        expect(verifyInclusion(ALL[index]!, index, index, proof, root)).toBe(false);
        if (proof.length > 0) {
          expect(verifyInclusion(ALL[index]!, index, size, proof.slice(0, -1), root)).toBe(false);
          const altered = proof.map((node) => Buffer.from(node));
          altered[0]!.writeUInt8(altered[0]!.readUInt8(0) ^ 1, 0);
          expect(verifyInclusion(ALL[index]!, index, size, altered, root)).toBe(false);
        }
        expect(verifyInclusion(ALL[index]!, index, size, [...proof, ALL[0]!], root)).toBe(false);
      }
    }
  });

  it('proves and verifies consistency between every pair of sizes up to 33', () => {
    for (let n = 1; n <= 33; n++) {
      const newRoot = merkleRoot(ALL.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const oldRoot = merkleRoot(ALL.slice(0, m));
        const proof = consistencyProof(ALL, m, n);
        expect(verifyConsistency(m, n, proof, oldRoot, newRoot)).toBe(true);
        if (m < n) {
          const forked = merkleRoot([...ALL.slice(0, m - 1), leafHash(recordHash(1000))]);
          expect(verifyConsistency(m, n, proof, forked, newRoot)).toBe(false);
          expect(verifyConsistency(m, n, proof, oldRoot, oldRoot)).toBe(false);
        }
      }
    }
  });

  it('refuses proofs for records outside the tree', () => {
    expect(() => inclusionProof(ALL, 5, 5)).toThrow(/not in the tree/);
    expect(() => inclusionProof(ALL, 0, 34)).toThrow(/no tree of 34/);
  });
});
