export { AppError, badRequest, conflict, notFound, unauthorized, unavailable } from './errors.ts';
export { PROBLEM_CONTENT_TYPE, answerClientError, notFoundHandler, problemHandler } from './problem.ts';
export {
  MAX_FIELD_ERRORS,
  MAX_INPUT_DEPTH,
  UNSTORABLE_TEXT,
  fieldErrors,
  parseInput,
  parseJsonBody,
  verifyJsonBody,
  type FieldError,
  type RequestPart,
} from './validation.ts';
export { httpMetrics, opsRouter } from './ops.ts';
export { listen, type RunningServer } from './server.ts';
export { opsApp, serviceApp } from './ops-app.ts';
export {
  openApiDocument,
  openApiRoutes,
  problemSchema,
  schemaObject,
  type JsonSchema,
  type OpenApiDocumentOptions,
  type OpenApiResponse,
  type OpenApiRoute,
} from './openapi.ts';
export { InFlightRequests } from './in-flight.ts';
