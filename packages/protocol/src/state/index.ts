/** @custos/protocol/state: The state map: a sparse Merkle tree with state proofs. */
export { MemoryStateNodeStore } from './memory-node-store.js';
export {
  decodeStateNode,
  emptyStateRoot,
  encodeStateNode,
  type NodePath,
  nodePath,
  pathDepth,
  STATE_INTERNAL_TAG,
  STATE_MAX_DEPTH,
  type StateInternalNode,
  type StateLeafNode,
  type StateNode,
  type StateNodeStore,
  type StateNodeWrite,
  stateInternalHash,
  stateInternalNodeHash,
  stateLeafHash,
} from './node.js';
export {
  encodeStateProof,
  isValidStateProof,
  parseStateProof,
  type StateProof,
  type StateProofJson,
  type StateProofLeaf,
  verifyStateProof,
  verifyStateProofHashed,
} from './proof.js';
export { type StateChange, StateTree, type StateUpdate } from './smt.js';
