// Errors the API answers with: an HTTP status, a stable machine-readable code, and a message
// that names the problem (never echoing customer data).
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const notFound = (what: string): ApiError => new ApiError(404, "not_found", what);
export const badRequest = (msg: string, details?: Record<string, unknown>): ApiError =>
  new ApiError(400, "bad_request", msg, details);
export const conflict = (code: string, msg: string, details?: Record<string, unknown>): ApiError =>
  new ApiError(409, code, msg, details);
