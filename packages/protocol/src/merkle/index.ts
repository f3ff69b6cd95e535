/** @custos/protocol/merkle: The history log: an RFC 9162 Merkle tree with inclusion and consistency proofs. */
export { MemoryLogStore } from './memory-log-store.js';
export {
  consistencyProof,
  emptyRoot,
  inclusionProof,
  isValidConsistency,
  isValidInclusion,
  type LogStore,
  leafHash,
  MAX_PROOF_LENGTH,
  MAX_TREE_SIZE,
  MerkleLog,
  nodeHash,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from './rfc9162.js';
