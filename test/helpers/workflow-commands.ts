// Reads a step's output as GitHub's runner does (actions/runner ActionCommand.TryParseV2 and
// ActionCommandManager): a line that starts with `::` after leading white space, the command name up
// to the first space, properties split on `,` then on the first `=`, the message after the second
// `::`; property values unescape %0D %0A %3A %2C then %25, messages %0D %0A then %25. Between
// `::stop-commands::TOKEN` and `::TOKEN::` nothing is a command.
export interface WorkflowCommand {
  command: string;
  properties: Record<string, string>;
  message: string;
  /** The output line (from 1) it came from. */
  outputLine: number;
}

const unescapeData = (s: string): string => s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
const unescapeProperty = (s: string): string =>
  s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%3A/g, ':').replace(/%2C/g, ',').replace(/%25/g, '%');

export function parseWorkflowCommand(raw: string): Omit<WorkflowCommand, 'outputLine'> | undefined {
  const line = raw.trimStart();
  if (!line.startsWith('::')) return undefined;
  const end = line.indexOf('::', 2);
  if (end < 0) return undefined;
  const info = line.slice(2, end);
  const space = info.indexOf(' ');
  const command = space < 0 ? info : info.slice(0, space);
  const properties: Record<string, string> = {};
  if (space > 0) {
    for (const prop of info.slice(space + 1).trim().split(',').filter((p) => p !== '')) {
      const eq = prop.indexOf('=');
      // The runner splits with RemoveEmptyEntries and keeps only two-part pairs.
      if (eq <= 0 || eq === prop.length - 1) continue;
      properties[prop.slice(0, eq)] = unescapeProperty(prop.slice(eq + 1));
    }
  }
  return { command, properties, message: unescapeData(line.slice(end + 2)) };
}

/** The commands a step's standard output gives the runner, honouring stop-commands. */
export function workflowCommands(output: string): WorkflowCommand[] {
  const out: WorkflowCommand[] = [];
  let stopToken: string | undefined;
  output.split(/\r?\n/).forEach((raw, i) => {
    const cmd = parseWorkflowCommand(raw);
    if (!cmd) return;
    if (stopToken !== undefined) {
      if (cmd.command === stopToken) stopToken = undefined;
      return;
    }
    if (cmd.command === 'stop-commands') {
      stopToken = cmd.message;
      return;
    }
    out.push({ ...cmd, outputLine: i + 1 });
  });
  return out;
}

/** The annotations among them (error, warning, notice), as the check run shows them. */
export function annotationsOf(output: string): Array<{ level: string; file?: string; line?: number; title?: string; message: string }> {
  return workflowCommands(output)
    .filter((c) => c.command === 'error' || c.command === 'warning' || c.command === 'notice')
    .map((c) => ({
      level: c.command,
      ...(c.properties.file !== undefined ? { file: c.properties.file } : {}),
      ...(c.properties.line !== undefined ? { line: Number(c.properties.line) } : {}),
      ...(c.properties.title !== undefined ? { title: c.properties.title } : {}),
      message: c.message,
    }));
}
