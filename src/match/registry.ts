/**
 * The matchers, in one explicit list: each package goes to the first matcher that handles it.
 * Add a matcher here (and a table test in test/match/); nothing registers itself on import.
 */
import { distroMatcher } from './distro/index.ts';
import { goMatcher } from './golang/index.ts';
import type { Matcher } from './index.ts';

export const MATCHERS: readonly Matcher[] = [distroMatcher, goMatcher];
