// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.26;

/// @title An ERC-20 for tests that can be switched to refuse its `transfer` calls (it returns
/// false): a COMMIT or ABORT paying out of a lock of this token then reverts, as a token that
/// blocks an account or is paused would make it.
contract RefusingToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    bool public refusing;

    function mint(address to, uint256 value) external {
        balanceOf[to] += value;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        return true;
    }

    function refuse(bool on) external {
        refusing = on;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        if (refusing) return false;
        _move(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        allowance[from][msg.sender] -= value;
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) private {
        balanceOf[from] -= value;
        balanceOf[to] += value;
    }
}
