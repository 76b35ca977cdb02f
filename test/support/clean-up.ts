import { afterAll } from 'vitest';
import { cleanUp } from './cleanup.js';

// Runs after the file's own afterAll hooks (they run in reverse order of registration): its servers and
// processes are stopped by then.
afterAll(cleanUp);
