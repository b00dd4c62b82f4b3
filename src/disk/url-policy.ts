/** Moved to util/url-policy.ts (vulndb/ downloads through it too); kept for older imports. */
export * from '../util/url-policy.ts';
