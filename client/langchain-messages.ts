import {
  AIMessage,
  type BaseMessage,
  ChatMessage,
  FunctionMessage,
  HumanMessage,
  type InvalidToolCall,
  SystemMessage,
  type ToolCall,
  ToolMessage,
  type UsageMetadata,
} from '@langchain/core/messages';
import type { Message, StoredMessage } from './conversation-memory.js';

/*
 * LangChain messages <-> the contract's messages, field by field, so that what LangChain stores reads sensibly
 * everywhere (the /turns route, the OpenAI Agents session) and what others store reads as LangChain messages:
 *
 *   type human / ai / system / tool     <-> role user / assistant / system / tool (developer reads as system)
 *   content (a string or parts)         <-> content, unchanged
 *   name                                <-> name
 *   AIMessage.tool_calls {id,name,args} <-> toolCalls {id, name, arguments}
 *   ToolMessage.tool_call_id            <-> toolCallId
 *   id (when 1-128 characters)          <-> id
 *
 * What has no field of its own in the contract goes to `metadata.langchain`: additional_kwargs,
 * response_metadata, usage_metadata, invalid_tool_calls, a ToolMessage's status, artifact and metadata, a
 * ChatMessage's role, a FunctionMessage's type.
 */

/** The metadata key for LangChain's own fields. */
export const langchainMetadataKey = 'langchain';

interface LangChainFields {
  type?: string;
  role?: string;
  additionalKwargs?: Record<string, unknown>;
  responseMetadata?: Record<string, unknown>;
  usageMetadata?: UsageMetadata;
  invalidToolCalls?: InvalidToolCall[];
  status?: string;
  artifact?: unknown;
  metadata?: Record<string, unknown>;
}

const roleOfType: Record<string, Message['role']> = {
  human: 'user',
  ai: 'assistant',
  system: 'system',
  developer: 'developer',
  tool: 'tool',
  function: 'tool',
};
const contractRoles = new Set<string>(['system', 'developer', 'user', 'assistant', 'tool']);

export function toStoredMessage(message: BaseMessage): Message {
  const type = message.getType();
  const fields: LangChainFields = {};
  let role = roleOfType[type];
  if (type === 'generic') {
    const chatRole = (message as ChatMessage).role;
    fields.role = chatRole;
    role = contractRoles.has(chatRole) ? (chatRole as Message['role']) : 'user';
  }
  if (role === undefined) throw new TypeError(`LangChain messages of type '${type}' cannot be stored.`);
  if (type === 'function' || type === 'generic') fields.type = type;
  if (nonEmpty(message.additional_kwargs)) fields.additionalKwargs = json(message.additional_kwargs);
  if (nonEmpty(message.response_metadata)) fields.responseMetadata = json(message.response_metadata);

  const stored: Message = { role, content: json(message.content) as Message['content'] };
  if (typeof message.id === 'string' && message.id.length >= 1 && message.id.length <= 128)
    stored.id = message.id;
  if (typeof message.name === 'string') stored.name = message.name;

  if (AIMessage.isInstance(message)) {
    if (message.tool_calls?.length) {
      stored.toolCalls = message.tool_calls.map((call) => ({
        id: call.id ?? '',
        name: call.name,
        arguments: json(call.args ?? {}),
      }));
    }
    if (message.invalid_tool_calls?.length) fields.invalidToolCalls = json(message.invalid_tool_calls);
    if (message.usage_metadata) fields.usageMetadata = json(message.usage_metadata);
  }
  if (ToolMessage.isInstance(message)) {
    stored.toolCallId = message.tool_call_id;
    if (message.status !== undefined) fields.status = message.status;
    if (message.artifact !== undefined) fields.artifact = json(message.artifact);
    if (nonEmpty(message.metadata)) fields.metadata = json(message.metadata);
  }
  if (Object.keys(fields).length > 0) stored.metadata = { [langchainMetadataKey]: fields };
  return stored;
}

export function fromStoredMessage(message: StoredMessage): BaseMessage {
  const fields = (message.metadata?.[langchainMetadataKey] ?? {}) as LangChainFields;
  const common = {
    content: message.content as string,
    id: message.id,
    ...(message.name === undefined ? {} : { name: message.name }),
    ...(fields.additionalKwargs ? { additional_kwargs: fields.additionalKwargs } : {}),
    ...(fields.responseMetadata ? { response_metadata: fields.responseMetadata } : {}),
  };
  if (fields.type === 'generic' && fields.role !== undefined) {
    return new ChatMessage({ ...common, role: fields.role });
  }
  switch (message.role) {
    case 'user':
      return new HumanMessage(common);
    case 'system':
    case 'developer':
      return new SystemMessage(common);
    case 'tool':
      if (fields.type === 'function') return new FunctionMessage({ ...common, name: message.name ?? '' });
      return new ToolMessage({
        ...common,
        tool_call_id: message.toolCallId ?? '',
        ...(fields.status === 'success' || fields.status === 'error' ? { status: fields.status } : {}),
        ...(fields.artifact === undefined ? {} : { artifact: fields.artifact }),
        ...(fields.metadata ? { metadata: fields.metadata } : {}),
      });
    case 'assistant': {
      const parsed = (message.toolCalls ?? []).map(toToolCall);
      const toolCalls = parsed.filter((call): call is ToolCall => !('error' in call));
      const invalid = [...(fields.invalidToolCalls ?? []), ...parsed.filter((call) => 'error' in call)];
      return new AIMessage({
        ...common,
        tool_calls: toolCalls,
        invalid_tool_calls: invalid as InvalidToolCall[],
        ...(fields.usageMetadata ? { usage_metadata: fields.usageMetadata } : {}),
      });
    }
  }
}

/** A stored tool call as LangChain's: string arguments (OpenAI style) are parsed; unparsable ones are invalid calls. */
function toToolCall(call: NonNullable<Message['toolCalls']>[number]): ToolCall | InvalidToolCall {
  if (typeof call.arguments !== 'string') {
    return { id: call.id, name: call.name, args: call.arguments, type: 'tool_call' };
  }
  try {
    const args: unknown = JSON.parse(call.arguments.length === 0 ? '{}' : call.arguments);
    if (typeof args === 'object' && args !== null && !Array.isArray(args)) {
      return { id: call.id, name: call.name, args: args as Record<string, unknown>, type: 'tool_call' };
    }
  } catch {
    // Falls through: not a JSON object.
  }
  return {
    id: call.id,
    name: call.name,
    args: call.arguments,
    error: 'The arguments are not a JSON object.',
    type: 'invalid_tool_call',
  };
}

function nonEmpty(value: Record<string, unknown> | undefined): value is Record<string, unknown> {
  return value !== undefined && Object.keys(value).length > 0;
}

/** A detached JSON copy: what the store will hold (undefined properties left out). */
function json<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
