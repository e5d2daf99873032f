/**
 * Every test file gets its own GUARDRAIL data directory: the audit store is on by default, and
 * gateways the tests start (in process or as child processes, which inherit the environment)
 * must not write to the real user's one. HOME moves too: a client SDK's stdio transport starts
 * its server with a filtered environment (HOME, PATH, USER, …), which drops GUARDRAIL_DATA_DIR,
 * and the default directory then follows HOME.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'guardrail-data-'));
process.env.GUARDRAIL_DATA_DIR = join(dir, 'data');
process.env.HOME = join(dir, 'home');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
