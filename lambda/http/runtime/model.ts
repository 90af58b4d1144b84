import { readAgentConfig } from '../../agent/agent-config.js';
import { createChatModel } from '../../agent/chat-model-factory.js';

/*
 * The turn function's agent configuration and model, built once at cold start. Only the turn handlers import
 * this module, so no other function needs (or reads) a model configuration. A bad environment fails the init
 * with the variable's name (lambda/agent/agent-config.ts lists them). Only the configured provider's code and
 * client are loaded; region and credentials come from the standard AWS variables.
 */
export const agentConfig = readAgentConfig(process.env);

export const model = await createChatModel(agentConfig.model);
