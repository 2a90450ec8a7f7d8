/**
 * What a failed integration test prints (setup-int.ts): the last warn-or-worse log lines of the
 * file's test contexts and the tail of every service process it spawned. Tests log silently
 * otherwise, and a CI failure is read from its output alone.
 */
const sources = new Map<string, () => string>();

/** Adds a named source (its latest text is read at the failure). */
export function addFailureOutput(name: string, read: () => string): void {
  sources.set(name, read);
}

/** Each source's tail, newest last; empty when nothing was logged. */
export function failureOutput(charsPerSource = 4_000): string {
  const parts: string[] = [];
  for (const [name, read] of sources) {
    const text = read().trimEnd();
    if (text) parts.push(`--- ${name} (last ${charsPerSource} characters) ---\n${text.slice(-charsPerSource)}`);
  }
  return parts.join('\n');
}

/** A pino destination keeping the last `limit` lines in memory. */
export function memoryLogDestination(limit = 200): { write: (line: string) => void; text: () => string } {
  const lines: string[] = [];
  return {
    write: (line) => {
      lines.push(line);
      if (lines.length > limit) lines.shift();
    },
    text: () => lines.join(''),
  };
}
