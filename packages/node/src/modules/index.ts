/** The system modules every Custos chain runs, by name. */
import type { Module } from '../exec/module.js';
import { kvModule } from './kv.js';
import { memberModule } from './member.js';

export const SYSTEM_MODULES: readonly Module[] = [memberModule, kvModule];
