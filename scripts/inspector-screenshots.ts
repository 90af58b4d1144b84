/**
 * `npx tsx scripts/inspector-screenshots.ts`: the README's pictures of the memory inspector, taken with the
 * browser the tests use (Debian's Chromium via playwright-core) against a real local server, into docs/inspector/.
 */
import { join } from 'node:path';
import { projectRoot } from '../local/local-server-config.js';
import { startServer, stopAllServers } from '../test/e2e/server-process.js';
import { launchChromium } from '../test/inspector/chromium.js';
import { seedMessages, seedToolConversation } from '../test/inspector/seed.js';

const folder = join(projectRoot, 'docs', 'inspector');
const server = await startServer();
const browser = await launchChromium();
try {
  await seedToolConversation(server, 'acme', 'user-42:trip-paris');
  await seedMessages(server, 'acme', 'user-42:support-7', 1_000);
  const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });

  await page.goto(`${server.url}/inspector?tenant=acme&conversation=user-42:trip-paris`);
  await page.locator('article[data-seq="5"]').waitFor();
  // The image part, the tool call with its result, and the result's own message.
  await page.mouse.wheel(0, 330);
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(folder, 'conversation.png') });

  await page.goto(`${server.url}/inspector?tenant=acme&conversation=user-42:support-7`);
  await page.locator('article').nth(49).waitFor();
  await page.getByRole('button', { name: 'Load older messages' }).click();
  await page.locator('article').nth(99).waitFor();
  await page.screenshot({ path: join(folder, 'paging.png') });

  await page.getByRole('button', { name: 'Delete…' }).click();
  await page.getByRole('dialog').waitFor();
  await page.screenshot({ path: join(folder, 'delete.png') });
  console.log(`Screenshots in ${folder}`);
} finally {
  await browser.close();
  await stopAllServers();
}
