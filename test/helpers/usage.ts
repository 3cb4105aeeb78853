// What a user sees when a command refuses its input: one line, as a UsageError.
import assert from 'node:assert/strict';
import { UsageError } from '../../src/cli/args.js';

/** The one-line usage error `run` throws; fails the test if it throws something else or accepts `input`. */
export function usageErrorOf(run: () => unknown, input: string): string {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof UsageError, `not a usage error: ${(e as Error).message}`);
    assert.ok(!(e as Error).message.includes('\n'), 'one line');
    return (e as Error).message;
  }
  assert.fail(`${input} was accepted`);
}
