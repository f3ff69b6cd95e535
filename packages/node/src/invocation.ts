/**
 * How the user runs this CLI, for the commands its hints suggest: `npm run custos -- ...` when it
 * was started through the checkout's npm scripts (`npm run custos`, `npm start`, as the README
 * does), else `custos ...`.
 */
export function cliCommand(rest: string, env: NodeJS.ProcessEnv = process.env): string {
  const viaNpm = env.npm_lifecycle_event === 'custos' || env.npm_lifecycle_event === 'start';
  return `${viaNpm ? 'npm run custos --' : 'custos'} ${rest}`;
}
