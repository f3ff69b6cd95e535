// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.26;

/// @title A hostile ERC-20 for tests: on its next transfer or transferFrom it first calls `target`
/// with the armed calldata (a re-entry into the participant contract) and records the outcome.
contract ReentrantToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    address public target;
    bytes public armed;
    bool public reentered;
    bytes public lastError;

    function mint(address to, uint256 value) external {
        balanceOf[to] += value;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        return true;
    }

    /// Arms one re-entry: `data` is sent to `to` during the next token transfer.
    function arm(address to, bytes calldata data) external {
        target = to;
        armed = data;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _attack();
        _move(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        _attack();
        allowance[from][msg.sender] -= value;
        _move(from, to, value);
        return true;
    }

    function _attack() private {
        address t = target;
        if (t == address(0)) return;
        target = address(0);
        (bool ok, bytes memory ret) = t.call(armed);
        reentered = ok;
        lastError = ret;
    }

    function _move(address from, address to, uint256 value) private {
        balanceOf[from] -= value;
        balanceOf[to] += value;
    }
}
