import type { ESLint } from 'eslint';
export const LAYERS: Record<string, string[]>;
export const EXCEPTIONS: Record<string, string>;
export function allowed(fromRel: string, toRel: string, isType: boolean): boolean;
export const layersPlugin: ESLint.Plugin;
