/**
 * Why a Spaces operation was refused. The REST layer maps them to HTTP statuses:
 * `invalid_input` 400, `forbidden` / `room_full` / `banned` 403, `not_found` 404,
 * `room_limit` 429 (the per-user active room limit).
 */
export type SpacesErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'forbidden'
  | 'room_full'
  | 'banned'
  | 'room_limit';

export class SpacesError extends Error {
  override readonly name = 'SpacesError';

  constructor(
    readonly code: SpacesErrorCode,
    message: string,
  ) {
    super(message);
  }
}
