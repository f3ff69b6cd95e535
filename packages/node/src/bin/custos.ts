#!/usr/bin/env node
/** The `custos` executable: see `custos --help`. */
import { runCli } from '../cli/program.js';

process.exitCode = await runCli(process.argv);
