import type { ChatCostResults, ChatSystem } from './chat-cost.js';
import type { CostResults, SystemName } from './cost-vs-history.js';

/*
 * Hand-written SVGs: capacity units per turn against history length, both axes logarithmic, one line per
 * system, and the one-item system's item-size limit marked where its writes start to fail.
 */

const WIDTH = 800;
const HEIGHT = 510;
const MARGIN = { left: 72, right: 32, top: 112, bottom: 64 };
const OURS = '#1b6ac9';
const ONE_ITEM = '#d9480f';

export interface ChartContext {
  readonly dynamoDbLocal: string;
  readonly contentBytes: number;
}

interface Series {
  readonly label: string;
  readonly color: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

/** Two systems: ours (value labels below its points by default) and the one-item one, whose limit is marked. */
interface Chart {
  readonly title: string;
  readonly subtitle: readonly [string, string];
  readonly ours: Series;
  readonly oneItem: Series;
  /** The first length the one-item system cannot take a turn at, with the two lines that say so. */
  readonly limit?: { readonly failedAt: number; readonly lines: readonly [string, string] };
  /** Lengths the one-item system could not even be seeded to. */
  readonly failedSizes: readonly number[];
}

const points = <S extends string>(
  samples: readonly { system: S; historyLength: number; modeled: { totalUnits: number } }[],
  system: S,
) =>
  samples
    .filter((sample) => sample.system === system)
    .map((sample) => ({ x: sample.historyLength, y: sample.modeled.totalUnits }))
    .sort((a, b) => a.x - b.x);

const subtitle = (context: ChartContext, what: string): readonly [string, string] => [
  `${what} (${context.contentBytes}-byte contents). Capacity per DynamoDB's`,
  `documented rules on the item sizes measured on DynamoDB Local ${context.dynamoDbLocal}. Both axes logarithmic.`,
];

/** Part 1: our turn vs LangChain's DynamoDBChatMessageHistory. */
export function capacityChartSvg(cost: CostResults, context: ChartContext): string {
  const failedAt = cost.langchainLimit ? cost.langchainLimit.maxMessages + 1 : undefined;
  return chartSvg({
    title: 'Capacity units per agent turn vs conversation length',
    subtitle: subtitle(context, 'One turn = read the history + write a user and an assistant message'),
    ours: {
      label: `agent-memory (load the newest ${cost.window} messages + append 2)`,
      color: OURS,
      points: points(cost.samples, 'agent-memory' satisfies SystemName),
    },
    oneItem: {
      label: 'LangChain DynamoDBChatMessageHistory (getMessages + addMessages)',
      color: ONE_ITEM,
      points: points(cost.samples, 'langchain' satisfies SystemName),
    },
    ...(failedAt === undefined
      ? {}
      : {
          limit: {
            failedAt,
            lines: [
              "LangChain's item hits DynamoDB's 400 KB limit:",
              `writes fail from message ${failedAt.toLocaleString('en-US')}`,
            ],
          },
        }),
    failedSizes: cost.failures.map((failure) => failure.historyLength),
  });
}

/** Part 5: an AI SDK chat turn saved by agent-memory/ai-sdk vs the AI SDK guide's one item per chat. */
export function chatCapacityChartSvg(chats: ChatCostResults, context: ChartContext): string {
  const failedAt = chats.guideLimit.maxMessages + 1;
  return chartSvg({
    title: 'Capacity units per AI SDK chat turn vs chat length',
    subtitle: subtitle(context, 'One turn = load the chat + save a user and an assistant UIMessage'),
    ours: {
      label: `agent-memory/ai-sdk (openChat with the newest ${chats.window} + save of 2)`,
      color: OURS,
      points: points(chats.samples, 'agent-memory/ai-sdk' satisfies ChatSystem),
    },
    oneItem: {
      label: "The AI SDK guide's pattern: the whole UIMessage[] in one item (GetItem + PutItem)",
      color: ONE_ITEM,
      points: points(chats.samples, 'ai-sdk-guide' satisfies ChatSystem),
    },
    limit: {
      failedAt,
      lines: [
        "The chat's item hits DynamoDB's 400 KB limit:",
        `saves fail from message ${failedAt.toLocaleString('en-US')}`,
      ],
    },
    failedSizes: [],
  });
}

function chartSvg(chart: Chart): string {
  const series = [chart.ours, chart.oneItem];
  const { failedSizes } = chart;
  const failedAt = chart.limit?.failedAt;
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
    `<title>DynamoDB ${escapeXml(chart.title.charAt(0).toLowerCase() + chart.title.slice(1))}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="600" fill="#111">${escapeXml(chart.title)}</text>`,
    `<text x="${MARGIN.left}" y="42" fill="#555">${escapeXml(chart.subtitle[0])}</text>`,
    `<text x="${MARGIN.left}" y="57" fill="#555">${escapeXml(chart.subtitle[1])}</text>`,
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

  // The one-item limit: a dashed line where its next write fails, and a cross at each length it cannot reach.
  const limitColor = chart.oneItem.color;
  if (chart.limit !== undefined) {
    const x = sx(chart.limit.failedAt);
    parts.push(
      `<line x1="${f(x)}" y1="${MARGIN.top}" x2="${f(x)}" y2="${MARGIN.top + plotH}" stroke="${limitColor}" stroke-dasharray="5 4"/>`,
      `<text x="${f(x - 6)}" y="${MARGIN.top + plotH - 40}" text-anchor="end" fill="${limitColor}">${escapeXml(chart.limit.lines[0])}</text>`,
      `<text x="${f(x - 6)}" y="${MARGIN.top + plotH - 25}" text-anchor="end" fill="${limitColor}">${escapeXml(chart.limit.lines[1])}</text>`,
    );
  }
  const yTop = MARGIN.top + 14;
  for (const size of failedSizes) {
    const x = sx(size);
    parts.push(
      `<path d="M${f(x - 5)} ${f(yTop - 5)} L${f(x + 5)} ${f(yTop + 5)} M${f(x - 5)} ${f(yTop + 5)} L${f(x + 5)} ${f(yTop - 5)}" stroke="${limitColor}" stroke-width="2"/>`,
      `<text x="${f(x)}" y="${f(yTop + 20)}" text-anchor="middle" fill="${limitColor}" font-size="11">fails</text>`,
    );
  }

  for (const current of series) {
    const { points: data, color } = current;
    if (data.length === 0) continue;
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2.5" points="${data.map((p) => `${f(sx(p.x))},${f(sy(p.y))}`).join(' ')}"/>`,
    );
    for (const p of data) {
      // A value label goes on the side away from the other line at the same length, so the two never collide.
      const other = series.find((s) => s !== current)?.points.find((q) => q.x === p.x);
      const below = other === undefined ? current === chart.ours : other.y > p.y;
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
  for (const { color, label } of [chart.oneItem, chart.ours]) {
    parts.push(
      `<line x1="${legendX}" y1="${legendY - 4}" x2="${legendX + 22}" y2="${legendY - 4}" stroke="${color}" stroke-width="2.5"/>`,
      `<circle cx="${legendX + 11}" cy="${legendY - 4}" r="3.5" fill="${color}"/>`,
      `<text x="${legendX + 30}" y="${legendY}" fill="#111">${escapeXml(label)}</text>`,
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
