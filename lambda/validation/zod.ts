/*
 * zod for the Lambda code: `import * as z from '../validation/zod.js'`, never `from 'zod'`.
 *
 * zod/mini is zod 4 with functions instead of methods (`z.optional(z.string().check(z.maxLength(9)))`), so that
 * esbuild bundles only what the schemas use: ~35 KiB instead of the ~440 KiB the classic `zod` API puts in
 * every function (its methods hang off every schema, so none can be dropped), and a faster cold start.
 * A namespace import (`import * as z`) keeps it that way; `import { z }` pulls the whole library in again.
 *
 * Classic zod installs its English messages by itself; zod/mini leaves them out ("Invalid input" for
 * everything). The contract's 400s quote them, so they are installed here, where every schema gets zod from,
 * and only when no locale is set yet: a process that embeds the store keeps the locale it chose, as with
 * classic zod.
 */
import { en } from 'zod/locales';
import { config } from 'zod/mini';

if (config().localeError === undefined) config(en());

export * from 'zod/mini';
