// One error handler: maps every error to the envelope with a stable code; 5xx are masked and logged.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, isUniqueViolation } from '../errors.js';
import type { ErrorEnvelope } from './envelope.js';
import { type ValidationIssue, validationDetails } from './validation.js';

function body(code: string, message: string, details?: Record<string, unknown>): ErrorEnvelope {
  return { success: false, data: null, error: details ? { code, message, details } : { code, message } };
}

export function sendError(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
  details?: Record<string, unknown>,
) {
  return reply
    .status(status)
    .type('application/json')
    .send(body(code, message, details));
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((request: FastifyRequest, reply: FastifyReply) =>
    sendError(reply, 404, 'not_found', `Route ${request.method} ${request.url.split('?')[0]} not found`),
  );

  app.setErrorHandler((error: FastifyError & { invalidCursor?: boolean }, request, reply) => {
    if (error instanceof AppError) {
      if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
      if (error.status >= 500) request.log.warn({ code: error.code }, error.message);
      return sendError(reply, error.status, error.code, error.message, error.details);
    }
    if (error.validation) {
      const details = validationDetails(error.validationContext, error.validation as ValidationIssue[]);
      return sendError(
        reply,
        400,
        'validation_error',
        `Invalid ${error.validationContext ?? 'request'}: ${details.field} ${(details.issues as { message: string }[])[0]?.message ?? 'is invalid'}`,
        details,
      );
    }
    if (error.invalidCursor)
      return sendError(reply, 400, 'validation_error', 'cursor is not valid', { field: 'cursor' });
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, 413, 'payload_too_large', 'Request body is too large');
      case 'FST_ERR_CTP_INVALID_JSON_BODY':
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, 400, 'validation_error', 'Request body is not valid JSON', { field: 'body' });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendError(reply, 415, 'unsupported_media_type', 'Unsupported content type');
      case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
        return sendError(reply, 400, 'validation_error', 'Invalid Content-Length', {
          field: 'content-length',
        });
    }
    if (error instanceof SyntaxError || error.statusCode === 400) {
      return sendError(reply, 400, 'validation_error', 'Malformed request', { field: 'body' });
    }
    if (error.statusCode === 429) {
      return sendError(reply, 429, 'rate_limited', 'Too many requests');
    }
    if (isUniqueViolation(error)) {
      return sendError(reply, 409, 'conflict', 'The resource already exists');
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      return sendError(reply, error.statusCode, 'bad_request', error.message);
    }
    request.log.error({ err: error }, 'unhandled error');
    return sendError(reply, 500, 'internal_error', 'Internal server error');
  });
}
