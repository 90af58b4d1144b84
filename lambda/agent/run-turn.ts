import { modelMessagesOf } from '../chat/ui-message.js';
import type { ConversationStore } from '../memory/conversation-store.js';
import {
  InvalidRequestError,
  NoPendingToolCallsError,
  StoreFailureError,
  VersionConflictError,
} from '../memory/errors.js';
import type { MessageInput, StoredMessage } from '../memory/message.js';
import { requireTitle } from '../memory/metadata.js';
import type { AppendResult, AttachmentView } from '../memory/store-types.js';
import { type ChatModel, type ChatRequest, type ModelStreamEvent, summarySystemText } from './chat-model.js';
import {
  type ContextPolicy,
  defaultContextPolicy,
  estimateTextTokens,
  estimateTokens,
  selectContext,
  validateContextPolicy,
} from './context-policy.js';
import { type Deadline, generateReply, startDeadline, storableReply } from './model-reply.js';
import {
  awaitsToolResults,
  pendingToolCalls,
  type ToolResult,
  toolMessagesOf,
  toolResultsSchema,
} from './tool-results.js';
import {
  checkToolChoice,
  type ToolChoice,
  type ToolDefinition,
  toolChoiceSchema,
  toolsSchema,
} from './tools.js';
import type { TurnContext } from './turn-context.js';
import { type TurnMessage, userMessageOf } from './turn-message.js';

export type { TurnContext };

/**
 * The part of the store a turn uses. A store with attachments also gives its message limit (so that a large
 * message is refused before any model call) and puts back what the history moved to S3 for the model.
 */
export type TurnStore = Pick<
  ConversationStore,
  'loadContext' | 'append' | 'replaceSuffix' | 'findIdempotentResult'
> &
  Partial<Pick<ConversationStore, 'messageLimitBytes' | 'resolveAttachments'>>;

/** Uploads up to this size reach the model as bytes (Converse takes documents up to 4.5 MB). */
const modelUploadBytes = 4_500_000;

/**
 * What a turn writes: `append`, after the conversation's newest message; or `replaceNewest`, in place of it (a
 * history edit conditioned on that message and the version read), as the chat route continues a UI message.
 */
export type TurnCommit =
  | { readonly append: readonly MessageInput[] }
  | { readonly replaceNewest: readonly MessageInput[] };

/** What a turn has to store once the model answered, for RunTurnInput.commit to shape. */
export interface TurnToCommit {
  /** The user message, or the tool results of a continuation, as the contract's messages. */
  readonly newMessages: readonly MessageInput[];
  /** The model's reply, with the turn's facts in its metadata. */
  readonly reply: MessageInput;
  /** The conversation's newest message when the turn loaded it (a continuation's tool-calling reply). */
  readonly newest: StoredMessage | undefined;
  /** The version the turn loaded and commits on. */
  readonly version: number;
}

/** What a turn reports while it runs: the model's progress, and `restart` before a regeneration. */
export type TurnProgressEvent =
  | ModelStreamEvent
  /** What was reported so far is void: the turn lost a race and generates again on the new history. */
  | { readonly type: 'restart' };

export interface RunTurnInput {
  readonly store: TurnStore;
  readonly model: ChatModel;
  readonly tenant: string;
  readonly conversationId: string;
  /**
   * A non-blank string, or a message of role `user` with non-empty content. Exactly one of `message` and
   * `toolResults`.
   */
  readonly message?: TurnMessage;
  /**
   * The results of the tool calls of the assistant message that ends the conversation (a continuation): each
   * call answered exactly once. They are committed as `tool` messages with the model's next reply.
   */
  readonly toolResults?: readonly ToolResult[];
  /** Tools the model may call; the caller runs them. Not stored (but part of the idempotency check). */
  readonly tools?: readonly ToolDefinition[];
  /** @default 'auto' */
  readonly toolChoice?: ToolChoice;
  /** A system prompt for this turn; sent to the model, not stored (but part of the idempotency check). */
  readonly system?: string;
  /** The title of the conversation, if this turn starts it (ignored when it exists). */
  readonly title?: string;
  /** Run the turn only if the conversation is at this version; else VersionConflictError, no model call. */
  readonly expectedVersion?: number;
  /** Same key + same request = the stored reply again, without a model call. */
  readonly idempotencyKey?: string;
  /** @default defaultContextPolicy (20 messages, 8000 estimated tokens) */
  readonly policy?: ContextPolicy;
  /** The deadline for the turn's model calls together (every regeneration included). @default 20000 */
  readonly modelTimeoutMs?: number;
  /** Model calls when the conversation keeps changing under the turn (without expectedVersion). @default 3 */
  readonly maxAttempts?: number;
  /** An outer deadline (e.g. the Lambda's remaining time); aborting it also stops the model call. */
  readonly signal?: AbortSignal;
  /** Streams the turn: the model reports text and tool calls as it produces them (see TurnProgressEvent). */
  readonly onEvent?: (event: TurnProgressEvent) => void;
  /**
   * How the turn is stored (the chat route stores UI messages). Called once per model answer; the plan must
   * depend only on its argument. @default the new messages and the reply, appended as they are
   */
  readonly commit?: (turn: TurnToCommit) => TurnCommit;
  /** How values in S3 come back in the result's messages (AppendOptions.attachments). @default 'inline' */
  readonly attachments?: AttachmentView;
}

export interface TurnResult {
  readonly conversationId: string;
  readonly version: number;
  /**
   * The committed messages: the user message (or the tool results), then the assistant reply; with a
   * `replaceNewest` commit, the message that replaced the newest one.
   */
  readonly messages: StoredMessage[];
  readonly reply: StoredMessage;
  /** True when the reply calls tools: the caller runs them and continues the turn with their results. */
  readonly awaitingToolResults: boolean;
  /** How many stored messages the model was given as history (context.messages). */
  readonly contextMessages: number;
  /** What the model was given of the conversation: the summary, the messages after it, what it missed. */
  readonly context: TurnContext;
  /** The model id that wrote the reply. */
  readonly model: string;
  /** True when this is the stored result of an earlier request with the same idempotency key. */
  readonly replayed: boolean;
  /** Model calls this request made: 0 on a replay, more than 1 after lost races. */
  readonly modelCalls: number;
}

export const defaultModelTimeoutMs = 20_000;
export const defaultTurnAttempts = 3;

/**
 * One agent turn: load the conversation's summary and the recent history after it (one strongly consistent Query),
 * ask the model, then commit the new messages and the reply in one conditional, idempotent append on the version
 * that was read. Nothing is stored unless
 * the model answered, so a model error or timeout leaves the conversation unchanged.
 *
 * - A turn's new message is the user's `message`, or, continuing a reply that called tools, `toolResults`:
 *   then the conversation must end with that reply (NoPendingToolCallsError) and the results must answer its
 *   calls exactly (ToolResultsMismatchError), checked before any model call.
 * - With an idempotency key, the stored result of an earlier identical request (message or tool results,
 *   tools, system, expectedVersion: the request, not the reply) is returned without a model call. That lookup
 *   runs next to the first load. A concurrent retry with the same key that commits first is found by the
 *   append, which then returns it.
 * - With `expectedVersion`, a conversation at another version is a VersionConflictError before any model call,
 *   and so is losing the race at commit.
 * - Without it, a lost race (another writer between load and commit) reloads and regenerates on the new
 *   history, up to `maxAttempts` model calls, then throws the VersionConflictError. A continuation whose tool
 *   calls are no longer the end of the conversation then fails with NoPendingToolCallsError.
 *
 * The reply is stored with `metadata.model`, `metadata.contextMessages`, `metadata.context` and the provider's
 * `stopReason` and `usage`, so a replay reports what the original turn did.
 *
 * Throws the store's MemoryErrors, ModelError (502) and ModelTimeoutError (504).
 */
export async function runTurn(input: RunTurnInput): Promise<TurnResult> {
  const { store, model, tenant, conversationId, system, title, expectedVersion, idempotencyKey, onEvent } =
    input;
  const policy = input.policy ?? defaultContextPolicy;
  const modelTimeoutMs = input.modelTimeoutMs ?? defaultModelTimeoutMs;
  const maxAttempts = input.maxAttempts ?? defaultTurnAttempts;
  validateContextPolicy(policy);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(`maxAttempts must be a positive integer, got ${maxAttempts}`);
  }
  if (!Number.isInteger(modelTimeoutMs) || modelTimeoutMs < 1) {
    throw new RangeError(`modelTimeoutMs must be a positive integer, got ${modelTimeoutMs}`);
  }
  if (system !== undefined && typeof system !== 'string') {
    throw new InvalidRequestError('system must be a string.');
  }
  if (title !== undefined) requireTitle(title);
  if (expectedVersion !== undefined && !(Number.isSafeInteger(expectedVersion) && expectedVersion >= 0)) {
    throw new InvalidRequestError('expectedVersion must be an integer >= 0.');
  }
  const { tools, toolChoice, toolResults } = checkedTools(input);
  const messageLimit = store.messageLimitBytes;
  const message = toolResults === undefined ? userMessageOf(input.message, messageLimit) : undefined;
  const view = input.attachments ?? 'inline';
  // What makes a retry "the same turn". `kind` keeps it apart from an append's fingerprint under the same key.
  const fingerprint =
    message === undefined
      ? { kind: 'tool_results', toolResults, system, expectedVersion, tools, toolChoice, title }
      : { kind: 'turn', message, system, expectedVersion, tools, toolChoice, title };
  const reservedTokens =
    estimateTextTokens(system) +
    (message ? estimateTokens(message) : estimateTextTokens(JSON.stringify(toolResults))) +
    (tools ? estimateTextTokens(JSON.stringify(tools)) : 0);

  const earlier =
    idempotencyKey === undefined
      ? undefined
      : store.findIdempotentResult(tenant, conversationId, idempotencyKey, fingerprint, view);
  let deadline: Deadline | undefined;
  let reported = false;

  for (let attempt = 1; ; attempt++) {
    const [replay, page] = await Promise.all([
      attempt === 1 ? earlier : undefined,
      // References: the context is chosen on what the messages are, and only the chosen ones are read from S3.
      store.loadContext(tenant, conversationId, { limit: policy.maxMessages, attachments: 'reference' }),
    ]);
    if (replay) return replayedTurn(replay, model, attempt - 1);
    if (expectedVersion !== undefined && page.version !== expectedVersion) {
      throw new VersionConflictError(page.version);
    }
    let newMessages: MessageInput[];
    try {
      newMessages =
        message === undefined
          ? toolMessagesOf(
              toolResults ?? [],
              pendingToolCalls(page.messages.at(-1), page.version),
              messageLimit,
            )
          : [message];
    } catch (error) {
      // A twin request with this key may have committed these results between the replay lookup and the load.
      const late =
        error instanceof NoPendingToolCallsError && idempotencyKey !== undefined
          ? await store.findIdempotentResult(tenant, conversationId, idempotencyKey, fingerprint, view)
          : undefined;
      if (late) return replayedTurn(late, model, attempt - 1);
      throw error;
    }

    const { summary } = page;
    const summaryTokens = summary === undefined ? 0 : estimateTextTokens(summarySystemText(summary));
    const history = selectContext(page.messages, policy, reservedTokens + summaryTokens);
    const context: TurnContext = {
      messages: history.length,
      summary:
        summary === undefined
          ? null
          : { fromSeq: summary.fromSeq, throughSeq: summary.throughSeq, messageCount: summary.messageCount },
      omitted: Math.max(0, page.messageCount - (summary?.messageCount ?? 0) - history.length),
    };
    const newest = page.messages.at(-1);
    const modelHistory = store.resolveAttachments
      ? await store.resolveAttachments(tenant, conversationId, history, { uploadDataBytes: modelUploadBytes })
      : history;
    deadline ??= startDeadline(modelTimeoutMs, input.signal);
    if (reported) onEvent?.({ type: 'restart' });
    reported = false;
    const live = { open: true };
    const request: ChatRequest = {
      system,
      ...(summary === undefined ? {} : { summary }),
      history: modelMessagesOf(modelHistory),
      messages: modelMessagesOf(newMessages),
      ...(tools === undefined ? {} : { tools }),
      ...(toolChoice === undefined ? {} : { toolChoice }),
      signal: deadline.signal,
      ...(onEvent === undefined
        ? {}
        : {
            // Only while this attempt runs: a provider that ignores the deadline cannot report into a later one.
            onEvent: (event: ModelStreamEvent) => {
              if (!live.open) return;
              reported = true;
              onEvent(event);
            },
          }),
    };
    let reply: MessageInput;
    try {
      reply = await generateReply(model, request, deadline);
    } finally {
      live.open = false;
    }
    const stampedReply = storableReply(reply, {
      model: model.modelId,
      contextMessages: history.length,
      context,
    });

    const plan = input.commit?.({ newMessages, reply: stampedReply, newest, version: page.version }) ?? {
      append: [...newMessages, stampedReply],
    };
    const options = {
      expectedVersion: page.version,
      idempotencyKey,
      idempotencyFingerprint: fingerprint,
      attachments: view,
    };
    try {
      const result =
        'append' in plan
          ? await store.append(tenant, conversationId, plan.append, {
              ...options,
              ...(title === undefined ? {} : { title }),
            })
          : await store.replaceSuffix(
              tenant,
              conversationId,
              {
                expectedSuffix: newest === undefined ? [] : [expectedFormOf(newest)],
                replacement: plan.replaceNewest,
              },
              options,
            );
      if (result.replayed) return replayedTurn(result, model, attempt);
      return turnResult(result, model.modelId, context, false, attempt);
    } catch (error) {
      const retry = error instanceof VersionConflictError && expectedVersion === undefined;
      if (!retry || attempt >= maxAttempts) throw error;
    }
  }
}

/** Tools, choice and results as the schemas allow them (embedders call runTurn without the HTTP layer). */
function checkedTools(input: RunTurnInput): Pick<RunTurnInput, 'tools' | 'toolChoice' | 'toolResults'> {
  const { tools, toolChoice, toolResults } = input;
  if ((input.message === undefined) === (toolResults === undefined)) {
    throw new InvalidRequestError('A turn takes either a message or toolResults (exactly one).');
  }
  for (const [name, schema, value] of [
    ['tools', toolsSchema, tools],
    ['toolChoice', toolChoiceSchema, toolChoice],
    ['toolResults', toolResultsSchema, toolResults],
  ] as const) {
    if (value === undefined) continue;
    const parsed = (schema as typeof toolsSchema).safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidRequestError(`${[name, ...(issue?.path ?? [])].join('.')}: ${issue?.message}`);
    }
  }
  checkToolChoice(tools, toolChoice);
  return { tools, toolChoice, toolResults };
}

/** A stored message as an edit's expected suffix names it: exactly as stored, id included. */
function expectedFormOf(message: StoredMessage): MessageInput {
  const { seq: _seq, createdAt: _createdAt, ...stored } = message;
  return stored;
}

function turnResult(
  result: AppendResult,
  modelId: string,
  context: TurnContext,
  replayed: boolean,
  modelCalls: number,
): TurnResult {
  const reply = result.messages.at(-1);
  if (reply?.role !== 'assistant') {
    // Only possible for a replay whose messages an edit (replaceSuffix) has since removed.
    throw new StoreFailureError('The stored result of this turn is no longer in the conversation.');
  }
  return {
    conversationId: result.conversationId,
    version: result.version,
    messages: result.messages,
    reply,
    awaitingToolResults: awaitsToolResults(reply),
    contextMessages: context.messages,
    context,
    model: modelId,
    replayed,
    modelCalls,
  };
}

/** An earlier turn's result, reported as it was: model and context come from the stored reply. */
function replayedTurn(result: AppendResult, model: ChatModel, modelCalls: number): TurnResult {
  const metadata = result.messages.at(-1)?.metadata ?? {};
  const modelId = typeof metadata.model === 'string' ? metadata.model : model.modelId;
  const contextMessages = typeof metadata.contextMessages === 'number' ? metadata.contextMessages : 0;
  // A reply stored before turns reported their context says only how many messages it was given.
  const context = (metadata.context as TurnContext | undefined) ?? {
    messages: contextMessages,
    summary: null,
    omitted: 0,
  };
  return turnResult(result, modelId, context, true, modelCalls);
}
