import { readConfig } from '../contract/environment.js';

/**
 * The handlers' configuration, read and checked once at cold start: a bad environment fails the init with the
 * variable's name (../contract/environment.ts lists them).
 */
export const config = readConfig(process.env);
