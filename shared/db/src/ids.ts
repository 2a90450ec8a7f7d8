import { v7, validate, version } from 'uuid';

/** Time-ordered ids (UUIDv7) made in the app, so keyset pagination by id follows creation time. */
export function newId(): string {
  return v7();
}

/** True for any well-formed UUID (cursors are checked with this before reaching SQL). */
export function isUuid(value: string): boolean {
  return validate(value);
}

/** True for a well-formed UUIDv7. */
export function isUuidV7(value: string): boolean {
  return validate(value) && version(value) === 7;
}
