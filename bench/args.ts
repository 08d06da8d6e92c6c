// Command-line arguments of the benchmarks: `--help` prints the usage, and an unknown flag or a
// number that is not one gets a one-line answer and exit code 2, not a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export function benchArgs<O extends Options>(options: O, usage: string): ReturnType<typeof parseArgs<{ options: O }>>['values'] {
  const fail = (msg: string): never => {
    process.stderr.write(`${msg}\n${usage}\n`);
    process.exit(2);
  };
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    process.exit(0);
  }
  try {
    return parseArgs({ options }).values;
  } catch (err) {
    return fail((err as Error).message);
  }
}

/** A flag's value as a number of at least `min`, or exit 2 naming the flag. */
export function numberArg(name: string, value: string, min: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min) {
    process.stderr.write(`--${name} must be a number of at least ${min}, got ${JSON.stringify(value)}\n`);
    process.exit(2);
  }
  return n;
}
