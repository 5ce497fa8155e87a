export * from './codec.js';
export * from './errors.js';
export * from './limits.js';
export * from './live.js';
export * from './messages.js';
export * from './schemas.js';
export * from './spaces.js';
export * from './storage-frame.js';
