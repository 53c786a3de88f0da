// Errors of the stored-response side of /v1/responses, in OpenAI's error shape.
import { define } from '../../errors.js'

export const responsesErrors = {
  /** Unknown, deleted, or another key's (or tenant's): the same answer, so ids cannot be probed. */
  responseNotFound: define(404, 'invalid_request_error', 'response_not_found', (id: string) => `No response with id '${id}' was found.`),
  previousResponseNotFound: define(404, 'invalid_request_error', 'previous_response_not_found', (id: string, via?: string) =>
    via === undefined || via === id
      ? `Previous response with id '${id}' not found.`
      : `Previous response with id '${id}' not found (it is earlier in the conversation of '${via}'; it may have been deleted).`,
  () => 'previous_response_id'),
  conversationTooLong: define(400, 'invalid_request_error', 'conversation_too_long', (what: string) =>
    `The conversation through previous_response_id is too long to continue here: ${what}. Start a new response and send the items you want to keep as input.`,
  () => 'previous_response_id'),
}
