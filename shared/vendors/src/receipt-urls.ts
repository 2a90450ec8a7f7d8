/**
 * Where vendors deliver their receipts on ingest-api. Dispatchers put these URLs into vendor
 * requests (Twilio `StatusCallback`), operators register them at the vendor (SNS subscription),
 * and ingest-api routes the same paths, so the shape is agreed in this one file.
 */

/** Path of the Twilio status callback for one attempt (the attempt id is in the path, not the query). */
export const TWILIO_STATUS_CALLBACK_PATH = '/api/v1/vendors/twilio/status/:attemptId';

/** Path of the SNS HTTPS subscription that carries SES events (bounce, complaint, delivery). */
export const SES_SNS_PATH = '/api/v1/vendors/ses/sns';

function joinBase(publicBaseUrl: string, path: string): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}${path}`;
}

/**
 * The `StatusCallback` URL for one Twilio message. Twilio signs exactly this URL (scheme, host,
 * path), so ingest-api must see the same public base URL the dispatcher used here.
 */
export function twilioStatusCallbackUrl(publicBaseUrl: string, attemptId: string): string {
  return joinBase(publicBaseUrl, TWILIO_STATUS_CALLBACK_PATH.replace(':attemptId', encodeURIComponent(attemptId)));
}

/** The HTTPS endpoint to subscribe to the SNS topic of the SES configuration set. */
export function sesSnsEndpointUrl(publicBaseUrl: string): string {
  return joinBase(publicBaseUrl, SES_SNS_PATH);
}
