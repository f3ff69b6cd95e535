// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.26;

/// The two ERC-20 calls the participant makes.
interface IERC20Transfer {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function balanceOf(address account) external view returns (uint256);
}

/// @title The EVM participant of a Custos atomic cross-chain transaction (docs/interop.md).
/// @notice A leg moves `amount` of an ERC-20 `token` from `from` to `to`. `prepare` locks the
/// tokens in this contract and emits the vote; `decide` applies the decision of the Custos decision
/// chain, and only with a certificate signed by a quorum of the Custos member set this contract
/// holds (their secp256k1 keys, checked with ecrecover). The member set changes only by an update
/// signed by a quorum of the current set. A lock past its deadline block can only abort.
/// Locks are keyed by the transaction id and the leg's hash: a leg prepared by someone else under
/// the same transaction id is another lock, which neither blocks the planned one nor is decided
/// with it (a certificate names the leg).
contract CustosParticipant {
    /// Domain tags: a signature for one purpose is never valid for another.
    bytes32 public constant DECISION_TAG = keccak256("custos/evm/decision/v2");
    bytes32 public constant MEMBERS_TAG = keccak256("custos/evm/members/v1");
    /// Bounds on inputs: the member set and the lock duration.
    uint256 public constant MAX_MEMBERS = 64;
    uint256 public constant MAX_LOCK_BLOCKS = 100_000;
    /// Decisions in one `decideMany` at most.
    uint256 public constant MAX_DECISIONS = 32;

    enum Status {
        None,
        Prepared,
        Refused,
        Committed,
        Aborted
    }

    struct Leg {
        address token;
        address from;
        address to;
        uint256 amount;
    }

    /// One certified decision, as `decide` takes it.
    struct Decision {
        bytes32 xtxId;
        bytes32 legHash;
        bool commit;
        uint64 epoch;
        bytes[] signatures;
    }

    struct Lock {
        Status status;
        uint64 deadline;
        address token;
        address from;
        address to;
        uint256 amount;
    }

    uint64 public epoch;
    uint256 public threshold;
    address[] private members;
    mapping(address => bool) public isMember;
    /// xtxId => legHash => lock.
    mapping(bytes32 => mapping(bytes32 => Lock)) private locks;
    uint256 private entered;

    /// The vote: `yes` with the tokens locked until `deadline`, or `no` (the tokens could not be taken).
    event Voted(bytes32 indexed xtxId, bool yes, bytes32 legHash, uint64 deadline);
    /// A certified decision applied.
    event Decided(bytes32 indexed xtxId, bytes32 legHash, bool commit, uint64 epoch);
    /// A prepared lock past its deadline released without a certificate: an abort.
    event Lapsed(bytes32 indexed xtxId, bytes32 legHash);
    event MembersUpdated(uint64 epoch, address[] members, uint256 threshold);

    error Reentrant();
    error BadMemberSet();
    error StaleEpoch(uint64 current, uint64 given);
    error WrongEpoch(uint64 current, uint64 given);
    error BadSignature(uint256 index);
    error NotMember(address signer);
    error UnsortedSigners(uint256 index);
    error NoQuorum(uint256 signers, uint256 threshold);
    error BadLeg();
    error BadDeadline(uint64 deadline, uint256 blockNumber);
    error AlreadyKnown(bytes32 xtxId, bytes32 legHash, Status status);
    error NotPrepared(bytes32 xtxId, bytes32 legHash, Status status);
    error LockExpired(bytes32 xtxId, bytes32 legHash, uint64 deadline);
    error NotExpired(bytes32 xtxId, bytes32 legHash, uint64 deadline);
    error TokenCallFailed();
    error BadBatch(uint256 given, uint256 max);

    modifier nonReentrant() {
        if (entered != 0) revert Reentrant();
        entered = 1;
        _;
        entered = 0;
    }

    /// The first member set (Custos epoch `initialEpoch`), as the deployer read it from Custos.
    constructor(uint64 initialEpoch, address[] memory initialMembers, uint256 initialThreshold) {
        _setMembers(initialEpoch, initialMembers, initialThreshold);
    }

    function memberSet() external view returns (uint64, address[] memory, uint256) {
        return (epoch, members, threshold);
    }

    function lockOf(bytes32 xtxId, bytes32 legHash_) external view returns (Lock memory) {
        return locks[xtxId][legHash_];
    }

    function legHash(Leg calldata leg) public pure returns (bytes32) {
        return keccak256(abi.encode(leg.token, leg.from, leg.to, leg.amount));
    }

    /// What the members sign for a decision: this chain, this contract, the transaction, its leg
    /// here, the decision and the member-set epoch.
    function decisionDigest(bytes32 xtxId, bytes32 legHash_, bool commit, uint64 certEpoch)
        public
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(DECISION_TAG, block.chainid, address(this), xtxId, legHash_, commit, certEpoch));
    }

    /// What the current members sign to install the next member set.
    function membersDigest(uint64 newEpoch, address[] calldata newMembers, uint256 newThreshold)
        public
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(MEMBERS_TAG, block.chainid, address(this), newEpoch, newMembers, newThreshold));
    }

    /// Locks the leg's tokens (the sender is the holder, who approved this contract) until
    /// `deadline` and votes YES; votes NO if the token refuses the transfer. Once per transaction id
    /// and leg.
    function prepare(bytes32 xtxId, Leg calldata leg, uint64 deadline) external nonReentrant {
        if (leg.from != msg.sender || leg.to == address(0) || leg.amount == 0 || leg.token.code.length == 0) {
            revert BadLeg();
        }
        if (deadline <= block.number || deadline > block.number + MAX_LOCK_BLOCKS) {
            revert BadDeadline(deadline, block.number);
        }
        bytes32 h = legHash(leg);
        Lock storage lock = locks[xtxId][h];
        if (lock.status != Status.None) revert AlreadyKnown(xtxId, h, lock.status);
        lock.deadline = deadline;
        lock.token = leg.token;
        lock.from = leg.from;
        lock.to = leg.to;
        lock.amount = leg.amount;
        IERC20Transfer token = IERC20Transfer(leg.token);
        uint256 before = token.balanceOf(address(this));
        bool taken = _call(leg.token, abi.encodeCall(IERC20Transfer.transferFrom, (leg.from, address(this), leg.amount)));
        if (taken && token.balanceOf(address(this)) != before + leg.amount) revert TokenCallFailed();
        lock.status = taken ? Status.Prepared : Status.Refused;
        emit Voted(xtxId, taken, h, deadline);
    }

    /// Applies the Custos decision for the leg `legHash_` of `xtxId`, certified by a quorum of the
    /// current member set (signatures sorted by signer address). COMMIT needs that lock prepared
    /// here and not expired; ABORT releases it, or leaves a tombstone so that a late prepare is refused.
    function decide(bytes32 xtxId, bytes32 legHash_, bool commit, uint64 certEpoch, bytes[] calldata signatures)
        external
        nonReentrant
    {
        _checkDecision(xtxId, legHash_, commit, certEpoch, signatures);
        _apply(xtxId, legHash_, commit, certEpoch, false);
    }

    /// Several decisions in one call (1 to MAX_DECISIONS), each certificate checked as `decide`
    /// checks it. A certificate that fails its check reverts the whole call, so no forgery hides in a
    /// batch. An item whose lock is already decided or lapsed, or a COMMIT whose lock is past its
    /// deadline (only a release remains for it), is skipped without an event: relayers racing one
    /// another do not make each other's batches fail. Any other refusal (a COMMIT of a lock never
    /// prepared, a token call that fails) reverts the whole call, as `decide` would.
    function decideMany(Decision[] calldata decisions) external nonReentrant {
        uint256 n = decisions.length;
        if (n == 0 || n > MAX_DECISIONS) revert BadBatch(n, MAX_DECISIONS);
        for (uint256 i = 0; i < n; i++) {
            Decision calldata d = decisions[i];
            _checkDecision(d.xtxId, d.legHash, d.commit, d.epoch, d.signatures);
            _apply(d.xtxId, d.legHash, d.commit, d.epoch, true);
        }
    }

    function _checkDecision(bytes32 xtxId, bytes32 legHash_, bool commit, uint64 certEpoch, bytes[] calldata signatures)
        private
        view
    {
        if (certEpoch != epoch) revert WrongEpoch(epoch, certEpoch);
        _checkQuorum(decisionDigest(xtxId, legHash_, commit, certEpoch), signatures);
    }

    /// A certified decision on the lock (checks, then effects, then the token call); `skipDone`
    /// returns instead of reverting on a lock already decided or lapsed, or an expired COMMIT.
    function _apply(bytes32 xtxId, bytes32 legHash_, bool commit, uint64 certEpoch, bool skipDone) private {
        Lock storage lock = locks[xtxId][legHash_];
        Status s = lock.status;
        if (skipDone && (s == Status.Committed || s == Status.Aborted)) return;
        if (commit) {
            if (s != Status.Prepared) revert NotPrepared(xtxId, legHash_, s);
            if (block.number > lock.deadline) {
                if (skipDone) return;
                revert LockExpired(xtxId, legHash_, lock.deadline);
            }
            lock.status = Status.Committed;
            emit Decided(xtxId, legHash_, true, certEpoch);
            _transfer(lock.token, lock.to, lock.amount);
        } else {
            if (s != Status.None && s != Status.Prepared && s != Status.Refused) revert AlreadyKnown(xtxId, legHash_, s);
            lock.status = Status.Aborted;
            emit Decided(xtxId, legHash_, false, certEpoch);
            if (s == Status.Prepared) _transfer(lock.token, lock.from, lock.amount);
        }
    }

    /// Anyone may release a prepared lock once its deadline block has passed: an abort. The
    /// Custos decision chain commits only while every lock holds with a margin (docs/interop.md).
    function release(bytes32 xtxId, bytes32 legHash_) external nonReentrant {
        Lock storage lock = locks[xtxId][legHash_];
        if (lock.status != Status.Prepared) revert NotPrepared(xtxId, legHash_, lock.status);
        if (block.number <= lock.deadline) revert NotExpired(xtxId, legHash_, lock.deadline);
        lock.status = Status.Aborted;
        emit Lapsed(xtxId, legHash_);
        _transfer(lock.token, lock.from, lock.amount);
    }

    /// Installs the member set of a later Custos epoch, signed by a quorum of the current set.
    function updateMembers(
        uint64 newEpoch,
        address[] calldata newMembers,
        uint256 newThreshold,
        bytes[] calldata signatures
    ) external nonReentrant {
        if (newEpoch <= epoch) revert StaleEpoch(epoch, newEpoch);
        _checkQuorum(membersDigest(newEpoch, newMembers, newThreshold), signatures);
        for (uint256 i = 0; i < members.length; i++) {
            isMember[members[i]] = false;
        }
        _setMembers(newEpoch, newMembers, newThreshold);
    }

    function _setMembers(uint64 newEpoch, address[] memory newMembers, uint256 newThreshold) private {
        uint256 n = newMembers.length;
        // A quorum is a strict majority: two quorums always share a member.
        if (n == 0 || n > MAX_MEMBERS || newThreshold * 2 <= n || newThreshold > n) revert BadMemberSet();
        for (uint256 i = 0; i < n; i++) {
            // Strictly increasing addresses: no zero address, no duplicate.
            if (newMembers[i] == address(0) || (i > 0 && newMembers[i] <= newMembers[i - 1])) revert BadMemberSet();
            isMember[newMembers[i]] = true;
        }
        members = newMembers;
        threshold = newThreshold;
        epoch = newEpoch;
        emit MembersUpdated(newEpoch, newMembers, newThreshold);
    }

    /// At least `threshold` valid signatures of distinct current members, in increasing signer order.
    function _checkQuorum(bytes32 digest, bytes[] calldata signatures) private view {
        if (signatures.length > MAX_MEMBERS) revert NoQuorum(signatures.length, threshold);
        address last = address(0);
        for (uint256 i = 0; i < signatures.length; i++) {
            address signer = _recover(digest, signatures[i], i);
            if (!isMember[signer]) revert NotMember(signer);
            if (signer <= last) revert UnsortedSigners(i);
            last = signer;
        }
        if (signatures.length < threshold) revert NoQuorum(signatures.length, threshold);
    }

    /// ecrecover of a 65-byte (r, s, v) signature; low s only (no malleated copies), v 27 or 28.
    function _recover(bytes32 digest, bytes calldata sig, uint256 index) private pure returns (address) {
        if (sig.length != 65) revert BadSignature(index);
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if (uint256(s) > 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0 || (v != 27 && v != 28)) {
            revert BadSignature(index);
        }
        address signer = ecrecover(digest, v, r, s);
        if (signer == address(0)) revert BadSignature(index);
        return signer;
    }

    function _transfer(address token, address to, uint256 amount) private {
        if (!_call(token, abi.encodeCall(IERC20Transfer.transfer, (to, amount)))) revert TokenCallFailed();
    }

    /// A token call that succeeded and returned true (or nothing, as some older tokens do).
    function _call(address token, bytes memory data) private returns (bool) {
        (bool ok, bytes memory ret) = token.call(data);
        return ok && (ret.length == 0 || (ret.length == 32 && abi.decode(ret, (bool))));
    }
}
