/**
 * How the user runs this CLI, for the commands its hints suggest: `npm run custos -- ...` when it
 * was started through an npm script of the checkout (as the README does), else `custos ...`.
 */
export function cliCommand(rest: string, env: NodeJS.ProcessEnv = process.env): string {
  const viaNpm = env.npm_lifecycle_event !== undefined && env.npm_lifecycle_event.length > 0;
  return `${viaNpm ? 'npm run custos --' : 'custos'} ${rest}`;
}
