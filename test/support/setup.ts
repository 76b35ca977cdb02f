import { afterAll } from 'vitest';
import { cleanUp } from './cleanup.js';

// Every test file's setup: what the file made outside itself goes when it ends (cleanup.ts). This hook
// runs after the file's own afterAll hooks (they run in reverse order of registration), so its servers
// and processes are stopped by then.
afterAll(cleanUp);
