/**
 * A prop AgentMemory cannot use. `prop` is its path (`agent.modelTimeout`), `problem` what it accepts and what
 * it got, so an app that reads its settings elsewhere (the stack's `-c` keys) can name its own setting.
 */
export class AgentMemoryPropsError extends Error {
  constructor(
    readonly prop: string,
    readonly problem: string,
  ) {
    super(`${prop} ${problem}`);
    this.name = 'AgentMemoryPropsError';
  }
}
