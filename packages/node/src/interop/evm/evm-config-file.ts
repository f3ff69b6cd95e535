/** The name of a member's EVM duties file in its home, apart from the duties so that a peer without one never loads viem. */
export const EVM_CONFIG_FILE = 'evm.json';
