/** A request about to be sent, as the authentication schemes see it. */
export interface OutgoingRequest {
  readonly method: string;
  readonly url: URL;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | undefined;
}

/**
 * Adds authentication to a request: returns the headers to send with it (on top of its own). Called once per
 * attempt, so signatures are fresh and token functions may rotate tokens between retries.
 */
export interface RequestAuth {
  headersFor(request: OutgoingRequest): Promise<Record<string, string>>;
}
