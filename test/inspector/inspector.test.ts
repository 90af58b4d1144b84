import { randomUUID } from 'node:crypto';
import type { Browser, Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ServerProcess, startServer, stopAllServers } from '../e2e/server-process.js';
import { launchChromium } from './chromium.js';
import { append, largePngBase64, seedMessages, seedToolConversation } from './seed.js';

/*
 * The memory inspector in a real browser (Debian's Chromium through playwright-core) against a real `npm start`
 * server process: everything the page shows comes through the public API.
 */

const tenant = 'acme';

describe('memory inspector (Chromium against npm start)', () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [server, browser] = await Promise.all([
      startServer({
        dynamoDbEndpoint: inject('dynamoDbEndpoint'),
        tableName: `e2e-inspector-${randomUUID()}`,
        // The test run's s3rver: large parts go there, and the page shows images from it.
        env: { S3_ENDPOINT: inject('s3Endpoint'), ATTACHMENTS_BUCKET: inject('s3Bucket') },
      }),
      launchChromium(),
    ]);
    // The first request builds the page (esbuild); the tests measure what a reader gets after that.
    expect((await fetch(`${server.url}/inspector`)).status).toBe(200);
  });
  afterAll(async () => {
    await browser?.close();
    await stopAllServers();
  });

  async function openPage(query: string): Promise<Page> {
    await page?.close();
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${server.url}/inspector?${query}`);
    expect(errors).toEqual([]);
    return page;
  }

  const article = (seq: number) => page.locator(`article[data-seq="${seq}"]`);
  const focusedSeq = () => page.locator(':focus').getAttribute('data-seq');

  it('serves one self-contained document whose CSP allows only its own script and style', async () => {
    // Act
    const answer = await fetch(`${server.url}/inspector`);
    const html = await answer.text();

    // Assess
    expect(answer.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(answer.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
    expect(html).toContain('<meta name="agent-memory-auth" content="tenant-header">');
    expect(html).toMatch(/content="default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+';/);
    expect(html).not.toMatch(/<script[^>]+src=|<link /);
  });

  it('opens a conversation by id from the keyboard: seq, id, role, time, text and image parts, metadata, version, retention', async () => {
    // Prepare
    const conversation = `trip-${randomUUID()}`;
    await seedToolConversation(server, tenant, conversation);
    await openPage(`tenant=${tenant}`);
    await expect.poll(() => page.locator('#conversation-title').textContent()).toBe('No conversation open');

    // Act
    await page.getByLabel('Conversation id').fill(conversation);
    await page.getByLabel('Conversation id').press('Enter');

    // Assess
    await expect.poll(() => page.locator('article').count()).toBe(5);
    expect(new URL(page.url()).searchParams.get('conversation')).toBe(conversation);
    const facts = await page.locator('.facts').innerText();
    expect(facts).toMatch(/Version\s+5/i);
    expect(facts).toMatch(/Messages\s+5/i);
    expect(facts).toMatch(/Kept until deleted/);
    const user = article(2);
    expect(await user.locator('.role').textContent()).toBe('user');
    expect(await user.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await user.locator('.message-id').textContent()).toMatch(/^[0-9A-Z]{26}$/);
    expect(await user.locator('[data-part-type="text"]').innerText()).toContain(
      'What should I wear in Paris?',
    );
    const image = user.locator('[data-part-type="image_url"] img');
    expect(await image.getAttribute('alt')).toBe('Image part (image/png, 96 B)');
    // Decoded by the browser: the stored bytes are a real 16x16 PNG.
    expect(
      await image.evaluate((img) => {
        const decoded = img as unknown as { complete: boolean; naturalWidth: number };
        return [decoded.complete, decoded.naturalWidth];
      }),
    ).toEqual([true, 16]);
    expect(await user.locator('.metadata pre').innerText()).toContain('"userId": "user-42"');
    expect(await page.getByRole('feed').getAttribute('aria-busy')).not.toBe('true');
  });

  it("shows an image the store keeps in S3 from its presigned URL, which the page's CSP allows", async () => {
    // Prepare: a 2 MiB screenshot, over the page's 1 MiB inline budget, so the page gets it by reference
    const conversation = `screenshot-${randomUUID()}`;
    const screenshot = `data:image/png;base64,${largePngBase64(2 * 1024 * 1024)}`;
    await append(server, tenant, conversation, [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is on my screen?' },
          { type: 'image_url', image_url: { url: screenshot } },
        ],
      },
    ]);

    // Act
    await openPage(`tenant=${tenant}&conversation=${conversation}`);

    // Assess
    const image = article(1).locator('[data-part-type="attachment"] img');
    await expect.poll(() => image.count()).toBe(1);
    expect(await image.getAttribute('src')).toMatch(new RegExp(`^${inject('s3Endpoint')}/`));
    expect(await image.getAttribute('alt')).toMatch(/^Image part \(image\/png, .+, kept in S3\)$/);
    // Loaded and decoded by the browser from s3rver: a CSP without the bucket's origin would leave it empty.
    await expect
      .poll(() =>
        image.evaluate((img) => {
          const decoded = img as unknown as { complete: boolean; naturalWidth: number };
          return [decoded.complete, decoded.naturalWidth];
        }),
      )
      .toEqual([true, 16]);
    const html = await (await fetch(`${server.url}/inspector`)).text();
    expect(html).toContain(`img-src data: blob: ${inject('s3Endpoint')};`);
  });

  it('shows each tool call next to its result, and each result with the call it answers', async () => {
    // Prepare
    const conversation = `tools-${randomUUID()}`;
    await seedToolConversation(server, tenant, conversation);

    // Act
    await openPage(`tenant=${tenant}&conversation=${conversation}`);

    // Assess
    const call = article(3).locator('.tool-call[data-tool-call-id="call_weather_1"]');
    await expect.poll(() => call.count()).toBe(1);
    expect(await call.locator('.tool-call-title').innerText()).toBe('Calls weather call_weather_1');
    expect(await call.locator('.arguments').innerText()).toContain('"city": "Paris"');
    expect(await call.locator('.tool-result').getAttribute('data-result-seq')).toBe('4');
    expect(await call.locator('.tool-result .text').innerText()).toBe('18°C, light rain');
    expect(await article(4).locator('.answers').innerText()).toBe('Answers weather call_weather_1 of #3');
    // The link moves focus to the call's message.
    await article(4).getByRole('link', { name: '#3' }).click();
    expect(await focusedSeq()).toBe('3');
  });

  it('10,000 messages: opens the newest page with one request, pages back one page per request', async () => {
    // Prepare
    const conversation = `long-${randomUUID()}`;
    const seedStarted = performance.now();
    expect(await seedMessages(server, tenant, conversation, 10_000)).toBe(10_000);
    const seedMs = performance.now() - seedStarted;
    await openPage(`tenant=${tenant}`);
    const requests: Request[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/v1/')) requests.push(request);
    });
    const messageRequests = () =>
      requests.filter((request) => new URL(request.url()).pathname.endsWith('/messages'));

    // Act: open it as a reader does (a navigation to its address)
    const openStarted = performance.now();
    await page.goto(`${server.url}/inspector?tenant=${tenant}&conversation=${conversation}`);
    await page.locator('article').nth(49).waitFor();
    const openMs = performance.now() - openStarted;
    const firstPage = await page.evaluate(
      () => performance.getEntriesByName('inspector:first-page')[0]?.startTime,
    );

    // Assess: the newest 50 from one request
    expect(await page.locator('article').count()).toBe(50);
    expect(await page.locator('.range').innerText()).toBe('Showing 50 of 10,000 messages (#9951–#10000).');
    expect(messageRequests().map((request) => new URL(request.url()).search)).toEqual(['?limit=50']);
    const openBytes = (await (await messageRequests()[0]?.response())?.body())?.length ?? 0;

    // Act: one page back, from the keyboard
    requests.length = 0;
    await page.getByRole('button', { name: 'Load older messages' }).focus();
    const backStarted = performance.now();
    await page.keyboard.press('Enter');
    await page.locator('article').nth(99).waitFor();
    const backMs = performance.now() - backStarted;

    // Assess: exactly one more page, the next 50 older messages
    expect(await page.locator('article').count()).toBe(100);
    expect(messageRequests().map((request) => new URL(request.url()).search)).toEqual([
      '?limit=50&before=9951',
    ]);
    const backBytes = (await (await messageRequests()[0]?.response())?.body())?.length ?? 0;
    expect(backBytes).toBeLessThan(20_000);
    expect(await page.locator('.range').innerText()).toBe('Showing 100 of 10,000 messages (#9901–#10000).');
    expect(await page.locator('article').first().getAttribute('data-seq')).toBe('9901');
    console.log(
      `inspector, 10,000 messages: seeded in ${Math.round(seedMs)} ms (200 appends of 50); navigation to the first ` +
        `rendered page ${Math.round(openMs)} ms (page's own mark ${Math.round(firstPage ?? -1)} ms after navigation ` +
        `start), newest page ${openBytes} bytes; page back: 1 request, ${backBytes} bytes, ${Math.round(backMs)} ms`,
    );
  }, 300_000);

  it('moves between messages with Page Up / Page Down (the feed pattern)', async () => {
    // Prepare
    const conversation = `keys-${randomUUID()}`;
    await seedToolConversation(server, tenant, conversation);
    await openPage(`tenant=${tenant}&conversation=${conversation}`);
    await expect.poll(() => page.locator('article').count()).toBe(5);

    // Act
    await article(5).focus();
    await page.keyboard.press('PageUp');
    await page.keyboard.press('PageUp');
    const afterUp = await focusedSeq();
    await page.keyboard.press('PageDown');

    // Assess
    expect(afterUp).toBe('3');
    expect(await focusedSeq()).toBe('4');
    expect(await article(4).getAttribute('tabindex')).toBe('0');
    expect(await article(5).getAttribute('tabindex')).toBe('-1');
  });

  it('live view: a message appended by another client appears without a reload', async () => {
    // Prepare
    const conversation = `live-${randomUUID()}`;
    await seedToolConversation(server, tenant, conversation);
    await openPage(`tenant=${tenant}&conversation=${conversation}`);
    await expect.poll(() => page.locator('article').count()).toBe(5);

    // Act
    await append(server, tenant, conversation, [{ role: 'user', content: 'Written by another client.' }]);

    // Assess
    await expect
      .poll(() => article(6).locator('.text').textContent(), { timeout: 15_000 })
      .toBe('Written by another client.');
    expect(
      await page
        .getByRole('status')
        .filter({ hasText: /^Live: 1 new message/ })
        .count(),
    ).toBe(1);
    expect(await page.locator('.facts').innerText()).toMatch(/Version\s+6/i);
  });

  it("shows the conversation's summary, what it covers, and the next one as the conversation grows", async () => {
    // Prepare: 40 messages, the user's fact in message 3; the server's background compactor summarizes 1-30.
    const conversation = `summary-${randomUUID()}`;
    const fact = 'My name is Ada and I am allergic to peanuts.';
    const messages = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({
        role: (from + i) % 2 === 1 ? 'user' : 'assistant',
        content: from + i === 3 ? fact : `Message ${from + i}.`,
      }));
    await append(server, tenant, conversation, messages(1, 40));
    const summaryThrough = async () => {
      const answer = await server.request(
        'GET',
        `/v1/conversations/${encodeURIComponent(conversation)}/summaries?recent=0`,
        { headers: { 'x-tenant-id': tenant } },
      );
      return (answer.json as { summaries: Array<{ throughSeq: number }> }).summaries[0]?.throughSeq;
    };
    await expect.poll(summaryThrough, { timeout: 30_000 }).toBe(30);

    // Act
    await openPage(`tenant=${tenant}&conversation=${conversation}`);

    // Assess: what it covers, its text with the fact, who wrote it; next to the messages, which are all there.
    const summary = page.locator('.summaries .summary');
    await expect.poll(() => summary.count()).toBe(1);
    expect(await summary.locator('.covers').innerText()).toBe(
      'Covers messages #1–#30 (30 messages); turns are given it in their place, and the messages after #30 as they are.',
    );
    expect(await summary.locator('.text').innerText()).toContain(fact);
    expect(await summary.locator('.muted').innerText()).toMatch(/^Written by offline /);
    expect(await page.locator('.range').innerText()).toBe('Showing 40 of 40 messages (#1–#40).');

    // Act: the conversation grows elsewhere; the compactor folds 31-40 in; the live view shows the new summary.
    await append(server, tenant, conversation, messages(41, 10));
    await expect.poll(summaryThrough, { timeout: 30_000 }).toBe(40);
    await append(server, tenant, conversation, [{ role: 'user', content: 'One more.' }]);

    // Assess
    await expect.poll(() => summary.getAttribute('data-through-seq'), { timeout: 15_000 }).toBe('40');
    expect(await summary.locator('.text').innerText()).toContain(fact);
  });

  it('live view: an edit elsewhere is noticed (the head counts other messages) and the newest page is read again', async () => {
    // Prepare
    const conversation = `edited-${randomUUID()}`;
    await seedToolConversation(server, tenant, conversation);
    await openPage(`tenant=${tenant}&conversation=${conversation}`);
    await expect.poll(() => page.locator('article').count()).toBe(5);

    // Act: replace the last reply (seq 5) with another one (seq 6)
    const edited = await server.request('POST', `/v1/conversations/${conversation}/edits`, {
      headers: { 'x-tenant-id': tenant },
      body: {
        expectedSuffix: [
          { role: 'assistant', content: 'Take a light raincoat: 18°C and light rain in Paris.' },
        ],
        replacement: [{ role: 'assistant', content: 'An umbrella will do.' }],
      },
    });
    expect(edited.status).toBe(200);

    // Assess
    await expect
      .poll(() => page.locator('.notice').innerText(), { timeout: 15_000 })
      .toContain('The history was edited.');
    expect(
      await page.locator('article').evaluateAll((all) => all.map((a) => a.getAttribute('data-seq'))),
    ).toEqual(['1', '2', '3', '4', '6']);
  });

  it('deletes only after confirmation: Escape cancels, the dialog deletes', async () => {
    // Prepare
    const conversation = `delete-${randomUUID()}`;
    await seedToolConversation(server, tenant, conversation);
    await openPage(`tenant=${tenant}&conversation=${conversation}`);
    await expect.poll(() => page.locator('article').count()).toBe(5);
    const head = () =>
      server.request('GET', `/v1/conversations/${conversation}`, { headers: { 'x-tenant-id': tenant } });

    // Act: open the dialog and press Escape
    await page.getByRole('button', { name: 'Delete…' }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Delete this conversation?' });
    await dialog.waitFor();
    const focusedInDialog = await page.locator(':focus').textContent();
    const description = await dialog.locator('#delete-description').innerText();
    await page.keyboard.press('Escape');

    // Assess: nothing deleted
    expect(focusedInDialog).toBe('Cancel');
    expect(description).toContain('(5 messages, version 5)');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect((await head()).status).toBe(200);

    // Act: confirm
    await page.getByRole('button', { name: 'Delete…' }).click();
    await dialog.getByRole('button', { name: 'Delete conversation' }).focus();
    await page.keyboard.press('Enter');

    // Assess
    await expect
      .poll(() => page.getByText('Deleted. Nothing is stored under this id anymore.').count())
      .toBe(1);
    expect((await head()).status).toBe(404);
    expect(await page.locator('.recent').innerText()).not.toContain(conversation);
  });

  it("shows the contract's error body readably, and an unknown id as empty", async () => {
    // Act
    await openPage(`tenant=${tenant}&conversation=${encodeURIComponent('not an id!')}`);

    // Assess
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.locator('.error-title').innerText()).toBe(
      'Loading the conversation failed: 400 invalid_request',
    );
    expect(await alert.innerText()).toContain('Try again');

    // Act: another tenant's id, and an id nobody wrote
    const conversation = `private-${randomUUID()}`;
    await seedToolConversation(server, tenant, conversation);
    await openPage(`tenant=other&conversation=${conversation}`);

    // Assess: tenants are isolated: for "other" nothing is stored under it
    await expect
      .poll(() => page.locator('.empty-state').innerText())
      .toContain('Nothing is stored under this id for this tenant');
  });

  it("lists the tenant's conversations newest first from the server's listing: pages of 50, a prefix search, deleted and other tenants' absent", async () => {
    // Prepare: 55 titled conversations (3 of them user-42's), one deleted, one of another tenant
    const lister = `list-${randomUUID().slice(0, 8)}`;
    const ids = Array.from({ length: 55 }, (_, i) =>
      i % 20 === 0 ? `user-42:ticket-${i}` : `chat-${String(i).padStart(2, '0')}`,
    );
    for (const id of [...ids, 'chat-deleted']) {
      const answer = await server.request('POST', `/v1/conversations/${encodeURIComponent(id)}/messages`, {
        headers: { 'x-tenant-id': lister },
        body: { messages: [{ role: 'user', content: `About ${id}` }], title: `Title of ${id}` },
      });
      expect(answer.status, answer.text).toBe(201);
    }
    await server.request('DELETE', '/v1/conversations/chat-deleted', { headers: { 'x-tenant-id': lister } });
    await append(server, 'someone-else', 'user-42:secret', [{ role: 'user', content: 'not yours' }]);
    // The contract's order: the minute of the last write, newest first, then the id, descending.
    const all = await server.request('GET', '/v1/conversations?limit=100', {
      headers: { 'x-tenant-id': lister },
    });
    const minute = (at: string) => Math.floor(Date.parse(at) / 60_000);
    const newestFirst = [...all.json.conversations]
      .sort(
        (a, b) => minute(b.updatedAt) - minute(a.updatedAt) || (b.conversationId < a.conversationId ? -1 : 1),
      )
      .map((conversation) => `Title of ${conversation.conversationId}`);
    expect(newestFirst).toHaveLength(55);

    // Act: open the page, then read the second page
    await openPage(`tenant=${lister}`);
    const listing = page.locator('.listing .conversation-list .title');
    await expect.poll(() => listing.count()).toBe(50);
    const firstPage = await listing.allInnerTexts();
    await page.getByRole('button', { name: 'More conversations' }).click();

    // Assess: exactly the live conversations, in the listing's order, the second page below the first
    expect(firstPage).toEqual(newestFirst.slice(0, 50));
    await expect.poll(() => listing.allInnerTexts()).toEqual(newestFirst);
    expect(await page.getByRole('button', { name: 'More conversations' }).count()).toBe(0);
    expect(await page.locator('.listing').innerText()).not.toMatch(/deleted|secret/);

    // Act: the prefix search, as a person types it (without the scope's colon)
    await page.getByLabel('Id starts with').fill('user-42');
    await page.getByLabel('Id starts with').press('Enter');

    // Assess: user-42's three, newest first, never the other tenant's user-42:secret
    await expect
      .poll(() => listing.allInnerTexts())
      .toEqual(newestFirst.filter((title) => title.startsWith('Title of user-42:')));
    expect(await listing.count()).toBe(3);

    // Act: open one from the list
    await page.locator('.listing a[data-conversation-id="user-42:ticket-20"]').click();

    // Assess
    expect(new URL(page.url()).searchParams.get('conversation')).toBe('user-42:ticket-20');
    await expect.poll(() => page.locator('article').count()).toBe(1);
  });
});
