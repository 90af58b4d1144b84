import type { CostResults, SystemName } from './cost-vs-history.js';

/*
 * A hand-written SVG: capacity units per turn against history length, both axes logarithmic, one line per
 * system, and LangChain's item-size limit marked where its writes start to fail.
 */

const WIDTH = 800;
const HEIGHT = 510;
const MARGIN = { left: 72, right: 32, top: 112, bottom: 64 };
const COLORS: Record<SystemName, string> = { 'agent-memory': '#1b6ac9', langchain: '#d9480f' };
const LABELS: Record<SystemName, string> = {
  'agent-memory': 'agent-memory (load the newest WINDOW messages + append 2)',
  langchain: 'LangChain DynamoDBChatMessageHistory (getMessages + addMessages)',
};

export interface ChartContext {
  readonly dynamoDbLocal: string;
  readonly contentBytes: number;
}

export function capacityChartSvg(cost: CostResults, context: ChartContext): string {
  const points = (system: SystemName) =>
    cost.samples
      .filter((sample) => sample.system === system)
      .map((sample) => ({ x: sample.historyLength, y: sample.modeled.totalUnits }))
      .sort((a, b) => a.x - b.x);
  const series = (['agent-memory', 'langchain'] as const).map((system) => ({
    system,
    points: points(system),
  }));
  const failedAt = cost.langchainLimit ? cost.langchainLimit.maxMessages + 1 : undefined;
  const failedSizes = cost.failures.map((failure) => failure.historyLength);

  const xs = [
    ...series.flatMap((s) => s.points.map((p) => p.x)),
    ...failedSizes,
    ...(failedAt ? [failedAt] : []),
  ];
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const xMin = 10 ** Math.floor(Math.log10(Math.min(...xs)));
  const xMax = 10 ** Math.ceil(Math.log10(Math.max(...xs)));
  const yMin = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...ys))));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...ys) * 1.5));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sx = (x: number) =>
    MARGIN.left + ((Math.log10(x) - Math.log10(xMin)) / Math.log10(xMax / xMin)) * plotW;
  const sy = (y: number) =>
    MARGIN.top + plotH - ((Math.log10(y) - Math.log10(yMin)) / Math.log10(yMax / yMin)) * plotH;
  const f = (n: number) => n.toFixed(1);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="12">`,
    `<title>DynamoDB capacity units per agent turn vs conversation length</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="600" fill="#111">Capacity units per agent turn vs conversation length</text>`,
    `<text x="${MARGIN.left}" y="42" fill="#555">One turn = read the history + write a user and an assistant message (${context.contentBytes}-byte contents). Capacity per DynamoDB's</text>`,
    `<text x="${MARGIN.left}" y="57" fill="#555">documented rules on the item sizes measured on DynamoDB Local ${escapeXml(context.dynamoDbLocal)}. Both axes logarithmic.</text>`,
  );

  // Grid and axes: decades labelled, 2x and 5x as minor lines.
  for (let decade = xMin; decade <= xMax; decade *= 10) {
    for (const m of [1, 2, 5]) {
      const x = decade * m;
      if (x > xMax) continue;
      const major = m === 1;
      parts.push(
        `<line x1="${f(sx(x))}" y1="${MARGIN.top}" x2="${f(sx(x))}" y2="${MARGIN.top + plotH}" stroke="${major ? '#d0d0d0' : '#eeeeee'}"/>`,
      );
      if (major) {
        parts.push(
          `<text x="${f(sx(x))}" y="${MARGIN.top + plotH + 18}" text-anchor="middle" fill="#333">${x.toLocaleString('en-US')}</text>`,
        );
      }
    }
  }
  for (let decade = yMin; decade <= yMax; decade *= 10) {
    for (const m of [1, 2, 5]) {
      const y = decade * m;
      if (y > yMax) continue;
      const major = m === 1;
      parts.push(
        `<line x1="${MARGIN.left}" y1="${f(sy(y))}" x2="${MARGIN.left + plotW}" y2="${f(sy(y))}" stroke="${major ? '#d0d0d0' : '#eeeeee'}"/>`,
      );
      if (major) {
        parts.push(
          `<text x="${MARGIN.left - 8}" y="${f(sy(y) + 4)}" text-anchor="end" fill="#333">${y.toLocaleString('en-US')}</text>`,
        );
      }
    }
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 18}" text-anchor="middle" fill="#111">messages already in the conversation</text>`,
    `<text transform="translate(20 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#111">capacity units per turn (RCU + WCU)</text>`,
  );

  // LangChain's limit: a dashed line where its next write fails, and a cross at each length it cannot reach.
  if (failedAt !== undefined && cost.langchainLimit) {
    const x = sx(failedAt);
    parts.push(
      `<line x1="${f(x)}" y1="${MARGIN.top}" x2="${f(x)}" y2="${MARGIN.top + plotH}" stroke="${COLORS.langchain}" stroke-dasharray="5 4"/>`,
      `<text x="${f(x - 6)}" y="${MARGIN.top + plotH - 40}" text-anchor="end" fill="${COLORS.langchain}">LangChain's item hits DynamoDB's 400 KB limit:</text>`,
      `<text x="${f(x - 6)}" y="${MARGIN.top + plotH - 25}" text-anchor="end" fill="${COLORS.langchain}">writes fail from message ${failedAt.toLocaleString('en-US')}</text>`,
    );
  }
  const yTop = MARGIN.top + 14;
  for (const size of failedSizes) {
    const x = sx(size);
    parts.push(
      `<path d="M${f(x - 5)} ${f(yTop - 5)} L${f(x + 5)} ${f(yTop + 5)} M${f(x - 5)} ${f(yTop + 5)} L${f(x + 5)} ${f(yTop - 5)}" stroke="${COLORS.langchain}" stroke-width="2"/>`,
      `<text x="${f(x)}" y="${f(yTop + 20)}" text-anchor="middle" fill="${COLORS.langchain}" font-size="11">fails</text>`,
    );
  }

  for (const { system, points: data } of series) {
    if (data.length === 0) continue;
    const color = COLORS[system];
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2.5" points="${data.map((p) => `${f(sx(p.x))},${f(sy(p.y))}`).join(' ')}"/>`,
    );
    for (const p of data) {
      // A value label goes on the side away from the other line at the same length, so the two never collide.
      const other = series.find((s) => s.system !== system)?.points.find((q) => q.x === p.x);
      const below = other === undefined ? system === 'agent-memory' : other.y > p.y;
      // Keep labels off the y axis and off the limit line.
      const anchor =
        p.x === xMin ? 'start' : p.x === data.at(-1)?.x && failedAt !== undefined ? 'end' : 'middle';
      const dx = anchor === 'start' ? 6 : anchor === 'end' ? -6 : 0;
      parts.push(
        `<circle cx="${f(sx(p.x))}" cy="${f(sy(p.y))}" r="4" fill="${color}"/>`,
        `<text x="${f(sx(p.x) + dx)}" y="${f(sy(p.y) + (below ? 18 : -10))}" text-anchor="${anchor}" fill="${color}" font-size="11">${formatUnits(p.y)}</text>`,
      );
    }
  }

  // Legend, between the subtitle and the plot.
  const legendX = MARGIN.left;
  let legendY = 80;
  for (const system of ['langchain', 'agent-memory'] as const) {
    parts.push(
      `<line x1="${legendX}" y1="${legendY - 4}" x2="${legendX + 22}" y2="${legendY - 4}" stroke="${COLORS[system]}" stroke-width="2.5"/>`,
      `<circle cx="${legendX + 11}" cy="${legendY - 4}" r="3.5" fill="${COLORS[system]}"/>`,
      `<text x="${legendX + 30}" y="${legendY}" fill="#111">${escapeXml(LABELS[system].replace('WINDOW', String(cost.window)))}</text>`,
    );
    legendY += 18;
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function formatUnits(units: number): string {
  return Number.isInteger(units) ? units.toLocaleString('en-US') : units.toFixed(1);
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
