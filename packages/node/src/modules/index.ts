/** The system modules every Custos chain runs, by name. */
import type { Module } from '../exec/module.js';
import { ageModule } from './age.js';
import { agentModule } from './agent.js';
import { consentModule, objectionModule, optoutModule } from './consent.js';
import { contractModule } from './contract.js';
import { dataModule } from './data.js';
import { datamapModule } from './datamap.js';
import { evmModule } from './evm.js';
import { govModule } from './gov.js';
import { gppModule } from './gpp.js';
import { hpkeModule } from './hpke.js';
import { incidentModule } from './incident.js';
import { interopModule } from './interop.js';
import { kvModule } from './kv.js';
import { memberModule } from './member.js';
import { profileModule } from './profile.js';
import { rectifyModule } from './rectify.js';
import { requestModule } from './request.js';
import { retentionModule } from './retention.js';
import { xtxModule } from './xtx.js';

export const SYSTEM_MODULES: readonly Module[] = [
  memberModule,
  profileModule,
  govModule,
  kvModule,
  consentModule,
  optoutModule,
  objectionModule,
  gppModule,
  ageModule,
  dataModule,
  requestModule,
  agentModule,
  datamapModule,
  retentionModule,
  incidentModule,
  interopModule,
  evmModule,
  xtxModule,
  contractModule,
  hpkeModule,
  rectifyModule,
];
