import { randomBytes } from 'node:crypto';

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford base32, as in ULID

let lastTime = 0;
let lastRandom = 0n;

/**
 * A ULID: 48 bits of milliseconds then 80 random bits, 26 characters that sort by creation time.
 * Monotonic within a process: ids made in the same millisecond increment the random part.
 */
export function newMessageId(now = Date.now()): string {
  if (now <= lastTime) {
    lastRandom += 1n;
  } else {
    lastTime = now;
    lastRandom = BigInt(`0x${randomBytes(10).toString('hex')}`);
  }
  let random = lastRandom;
  let tail = '';
  for (let i = 0; i < 16; i++) {
    tail = alphabet[Number(random & 31n)] + tail;
    random >>= 5n;
  }
  let time = lastTime;
  let head = '';
  for (let i = 0; i < 10; i++) {
    head = alphabet[time % 32] + head;
    time = Math.floor(time / 32);
  }
  return head + tail;
}
