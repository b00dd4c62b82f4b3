/**
 * The explicit list of analyzers, in the order they run: the OS first, then the package
 * databases, then the analyzers that read `previous` (kernel needs the kernel packages,
 * go-binary skips binaries an OS package owns). No analyzer registers itself on import.
 */
import { apkAnalyzer } from './apk/index.ts';
import { dpkgAnalyzer } from './dpkg/index.ts';
import type { Analyzer } from './index.ts';
import { kernelAnalyzer } from './kernel/index.ts';
import { osReleaseAnalyzer } from './os-release/index.ts';
import { goBinaryAnalyzer } from './go-binary/index.ts';
import { rpmAnalyzer } from './rpm/index.ts';

export const ANALYZERS: readonly Analyzer[] = [
  osReleaseAnalyzer,
  dpkgAnalyzer,
  rpmAnalyzer,
  apkAnalyzer,
  kernelAnalyzer,
  goBinaryAnalyzer,
];
