// One error hierarchy: every error a client can see has a stable snake_case code and an HTTP status.

export type ErrorDetails = Record<string, unknown>;

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetails,
    /** Seconds the client should wait (429/503); sent as Retry-After. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: ErrorDetails) {
    super(400, 'validation_error', message, details);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(code = 'unauthenticated', message = 'Authentication required') {
    super(401, code, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed', code = 'forbidden') {
    super(403, code, message);
  }
}

/** Also used for resources the caller may not see, so existence does not leak. */
export class NotFoundError extends AppError {
  constructor(what = 'Resource', code = 'not_found') {
    super(404, code, `${what} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code = 'conflict', details?: ErrorDetails) {
    super(409, code, message, details);
  }
}

export class GoneError extends AppError {
  constructor(message: string, code = 'gone') {
    super(410, code, message);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message = 'Request body is too large') {
    super(413, 'payload_too_large', message);
  }
}

export class UnprocessableError extends AppError {
  constructor(message: string, code = 'unprocessable', details?: ErrorDetails) {
    super(422, code, message, details);
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number, message = 'Too many requests') {
    super(429, 'rate_limited', message, undefined, Math.max(1, Math.ceil(retryAfterSeconds)));
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(code: string, message: string, retryAfterSeconds?: number) {
    super(503, code, message, undefined, retryAfterSeconds);
  }
}

/** PostgreSQL unique violation, whichever driver raised it. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; constraint?: unknown };
  return e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

export function isForeignKeyViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23503';
}
