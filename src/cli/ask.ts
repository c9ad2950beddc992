/** A yes/no question on the terminal: undefined when standard input is not one; no on Ctrl-C. */
import { createInterface } from 'node:readline/promises';

export function askOnTerminal(question: string, signal: AbortSignal): Promise<boolean> | undefined {
  if (!process.stdin.isTTY) return undefined;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return rl
    .question(question, { signal })
    .then(
      (answer) => /^y(es)?$/i.test(answer.trim()),
      () => false,
    )
    .finally(() => rl.close());
}
