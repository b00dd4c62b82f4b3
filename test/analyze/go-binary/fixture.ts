/**
 * Real Go binaries for the go-binary analyzer's tests, built by Debian's Go toolchain
 * (golang-go, Go 1.19) from a tiny module with vendored dependencies — one plain, one replaced
 * by another module version, one replaced by a local directory — so that the build info holds
 * `mod`, `dep` and `=>` lines without any network access. Cross-compiled for four ELF flavours:
 * amd64 (64-bit LE), 386 (32-bit LE), ppc64 (64-bit BE), mips (32-bit BE). Cached under
 * go-binaries in the fixture cache, plus gotest-ldflags (amd64) whose version is stamped with
 * `-ldflags -X`. The oracle is `go version -m`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureArtefact } from '../../fixtures/cache.ts';
import { exec, requireTools } from '../../fixtures/exec.ts';
import { fixtureCacheDir } from '../../helpers/tools.ts';

export const GO_FIXTURE_VERSION = 4;
/** The gotest-ldflags build's linker flags. */
export const LDFLAGS = "-s -w -X main.version=1.4.2 -X 'example.com/hullscan/gotest/internal/build.commit=abc1234'";
export const GO_TARGETS = [
  { goarch: 'amd64', bits: 64, le: true },
  { goarch: '386', bits: 32, le: true },
  { goarch: 'ppc64', bits: 64, le: false },
  { goarch: 'mips', bits: 32, le: false },
] as const;

const FILES: Record<string, string> = {
  'go.mod': `module example.com/hullscan/gotest

go 1.19

require (
\tgithub.com/fake/lib v1.2.3
\tgithub.com/fake/old v0.1.0
\texample.com/localdep v0.0.0
)

replace github.com/fake/old => github.com/fake/new v0.4.0

replace example.com/localdep => ./localdep
`,
  'main.go': `package main

import (
\t"fmt"

\t"example.com/localdep"
\t"github.com/fake/lib"
\t"github.com/fake/old"
)

// version is stamped by the linker in the gotest-ldflags build (-X main.version=...).
var version = "dev"

func main() { fmt.Println(version, lib.Name(), old.Name(), localdep.Name()) }
`,
  'localdep/go.mod': 'module example.com/localdep\n\ngo 1.19\n',
  'localdep/localdep.go': 'package localdep\n\nfunc Name() string { return "localdep" }\n',
  'vendor/modules.txt': `# example.com/localdep v0.0.0 => ./localdep
## explicit; go 1.19
example.com/localdep
# github.com/fake/lib v1.2.3
## explicit; go 1.19
github.com/fake/lib
# github.com/fake/old v0.1.0 => github.com/fake/new v0.4.0
## explicit; go 1.19
github.com/fake/old
# github.com/fake/old => github.com/fake/new v0.4.0
# example.com/localdep => ./localdep
`,
  'vendor/example.com/localdep/localdep.go': 'package localdep\n\nfunc Name() string { return "localdep" }\n',
  'vendor/github.com/fake/lib/lib.go': 'package lib\n\nfunc Name() string { return "lib" }\n',
  'vendor/github.com/fake/old/old.go': 'package old\n\nfunc Name() string { return "new" }\n',
};

/** Directory holding gotest-<goarch> binaries. */
export function goTestBinaries(): Promise<string> {
  return ensureArtefact({
    name: 'go-binaries',
    product: 'bin',
    builderVersion: GO_FIXTURE_VERSION,
    tools: ['go'],
    inputs: { files: FILES, targets: GO_TARGETS, ldflags: LDFLAGS },
    async build(dir) {
      requireTools('Go test binaries', 'go');
      const src = join(dir, 'src');
      for (const [name, text] of Object.entries(FILES)) {
        await mkdir(join(src, name, '..'), { recursive: true });
        await writeFile(join(src, name), text);
      }
      await mkdir(join(dir, 'bin'));
      const env = {
        GOFLAGS: '-mod=vendor',
        GOPROXY: 'off',
        GOTOOLCHAIN: 'local',
        CGO_ENABLED: '0',
        GOOS: 'linux',
        GOCACHE: join(fixtureCacheDir(), '.go-build-cache'),
        GOPATH: join(dir, 'gopath'),
      };
      for (const t of GO_TARGETS) {
        await exec('go', ['build', '-trimpath', '-buildvcs=false', '-o', join(dir, 'bin', `gotest-${t.goarch}`), '.'], { cwd: src, env: { ...env, GOARCH: t.goarch }, timeoutMs: 600_000 });
      }
      // As release builds stamp their version: containerd, runc and kubelet all use -X.
      // Without -trimpath: cmd/go records -ldflags only then (go.dev/issue/52372).
      await exec('go', ['build', '-buildvcs=false', `-ldflags=${LDFLAGS}`, '-o', join(dir, 'bin', 'gotest-ldflags'), '.'], { cwd: src, env: { ...env, GOARCH: 'amd64' }, timeoutMs: 600_000 });
      return { targets: GO_TARGETS.map((t) => t.goarch), ldflags: LDFLAGS };
    },
  });
}
