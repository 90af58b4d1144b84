/** A progress line for stderr: the tables go to stdout, so `npm run bench > table.txt` stays clean. */
export type Progress = (line: string) => void;

export function stderrProgress(startedAt = performance.now()): Progress {
  return (line) => {
    const seconds = ((performance.now() - startedAt) / 1000).toFixed(1).padStart(6);
    process.stderr.write(`[bench ${seconds}s] ${line}\n`);
  };
}
