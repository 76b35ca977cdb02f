import { afterAll } from 'vitest';
import { removeProjects } from './project.js';

// Each test file's throw-away projects go when it ends: a run of the suite made about 1,500, a few with
// an embedded database of 57 MB, and left them all in the temporary folder.
afterAll(removeProjects);
