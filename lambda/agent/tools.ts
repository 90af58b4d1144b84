import { InvalidRequestError } from '../memory/errors.js';
import * as z from '../validation/zod.js';

/*
 * Tools are executed by the caller, never by the server: a turn offers them to the model, the model's reply
 * may call them (stored as the assistant message's `toolCalls`), and the caller continues the turn with
 * their results (./tool-results.ts).
 */

/** What both providers accept as a tool name (Bedrock Converse and chat completions alike). */
const toolNamePattern = /^[A-Za-z0-9_-]{1,64}$/;
export const maxTools = 128;

export const toolDefinitionSchema = z.strictObject({
  name: z
    .string()
    .check(
      z.regex(toolNamePattern, 'must be 1-64 characters of A-Z a-z 0-9 _ -'),
      z.describe('Unique within the request; the model calls the tool by this name.'),
    ),
  description: z.optional(z.string().check(z.describe('What the tool does, for the model.'))),
  inputSchema: z
    .looseObject({ type: z.literal('object') })
    .check(
      z.describe(
        'A JSON Schema of the arguments, an object schema (`"type": "object"`), sent to the model as is.',
      ),
    ),
});

export type ToolDefinition = z.infer<typeof toolDefinitionSchema>;

export const toolsSchema = z.array(toolDefinitionSchema).check(
  z.maxLength(maxTools),
  z.refine(
    (tools) => new Set(tools.map((tool) => tool.name)).size === tools.length,
    'tool names must be unique',
  ),
  z.describe(
    'Tools the model may call in this turn. The server never runs them: a reply that calls tools is stored ' +
      'and answered with `awaitingToolResults: true`; continue with `toolResults`. Not stored.',
  ),
);

/** `auto` (the model decides), `none` (no tool), `required` (at least one), or one named tool. */
export const toolChoiceSchema = z.union([
  z.enum(['auto', 'none', 'required']),
  z.strictObject({ name: z.string().check(z.regex(toolNamePattern, 'must be a tool name')) }),
]);

export type ToolChoice = z.infer<typeof toolChoiceSchema>;

/**
 * The turn's tools and choice, checked together: a choice other than `auto`/`none` needs tools, and a named
 * choice must name one of them. Throws InvalidRequestError.
 */
export function checkToolChoice(
  tools: readonly ToolDefinition[] | undefined,
  toolChoice: ToolChoice | undefined,
): void {
  if (toolChoice === undefined || toolChoice === 'auto' || toolChoice === 'none') return;
  if (tools === undefined || tools.length === 0) {
    throw new InvalidRequestError('toolChoice needs tools.');
  }
  if (typeof toolChoice === 'object' && !tools.some((tool) => tool.name === toolChoice.name)) {
    throw new InvalidRequestError(`toolChoice names '${toolChoice.name}', which is not one of the tools.`);
  }
}

/** The tools the model is offered: none when the choice is `none`. */
export function offeredTools(
  tools: readonly ToolDefinition[] | undefined,
  toolChoice: ToolChoice | undefined,
): readonly ToolDefinition[] {
  return toolChoice === 'none' ? [] : (tools ?? []);
}
