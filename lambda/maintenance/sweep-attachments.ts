import { logger } from '../http/runtime/observability.js';
import { store } from '../http/runtime/store.js';

/**
 * The scheduled sweep (an EventBridge rule runs it hourly): deletes the S3 objects of writes that never committed
 * (after their grace) and of removed messages whose objects are still there (a crash in between), as the markers
 * of ../memory/attachments/markers.ts list them. A bucket lifecycle rule cannot tell those from referenced ones.
 */
export const handler = async (): Promise<{ markers: number; objects: number }> => {
  const result = await store.sweepAttachments();
  logger.info('attachment sweep', { ...result });
  return result;
};
