/**
 * /etc/fstab as the image's own boot would read it: which volumes are mounted where.
 *
 * Format: fstab(5) (util-linux): one entry per line, fields separated by blanks — spec, mount
 * point, type, options, dump, pass; `#` starts a comment; the octal escapes `\040` (space),
 * `\011` (tab), `\012` (newline) and `\134` (backslash) stand for those bytes inside a field.
 * Missing trailing fields take their defaults (type `auto`, options `defaults`).
 */
import { FsPathError } from './errors.ts';
import type { FileSystem } from './index.ts';

/** fstab files larger than this are not read (real ones are a few hundred bytes). */
export const MAX_FSTAB_BYTES = 64 * 1024;
/** Entries read from one fstab; the rest are reported. */
export const MAX_FSTAB_ENTRIES = 256;

export interface FstabEntry {
  /** The device as written: `UUID=…`, `LABEL=…`, `/dev/mapper/vg-lv`, … */
  spec: string;
  mountPoint: string;
  type: string;
  options: string[];
  /** 1-based line number, for issues. */
  line: number;
}

function unescapeField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** Parses fstab text; malformed lines (fewer than two fields) are returned separately. */
export function parseFstab(text: string): { entries: FstabEntry[]; malformed: number[]; truncated: boolean } {
  const entries: FstabEntry[] = [];
  const malformed: number[] = [];
  let truncated = false;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/[ \t]+/);
    if (fields.length < 2) {
      malformed.push(i + 1);
      continue;
    }
    if (entries.length >= MAX_FSTAB_ENTRIES) {
      truncated = true;
      break;
    }
    entries.push({
      spec: unescapeField(fields[0]!),
      mountPoint: unescapeField(fields[1]!),
      type: fields[2] ?? 'auto',
      options: (fields[3] ?? 'defaults').split(',').filter((o) => o !== ''),
      line: i + 1,
    });
  }
  return { entries, malformed, truncated };
}

/** Reads and parses `/etc/fstab` of a filesystem; undefined when the image has none. */
export async function readFstab(fs: FileSystem): Promise<ReturnType<typeof parseFstab> | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile('/etc/fstab', { maxBytes: MAX_FSTAB_BYTES });
  } catch (err) {
    if (err instanceof FsPathError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return undefined;
    throw err;
  }
  return parseFstab(new TextDecoder().decode(bytes));
}

/**
 * Filesystem types that hold no disk content (kernel and memory filesystems): their entries
 * are neither composed nor reported.
 */
export const PSEUDO_FS_TYPES: ReadonlySet<string> = new Set([
  'proc', 'sysfs', 'tmpfs', 'devtmpfs', 'devpts', 'ramfs', 'cgroup', 'cgroup2', 'securityfs', 'debugfs', 'tracefs',
  'hugetlbfs', 'mqueue', 'configfs', 'fusectl', 'pstore', 'bpf', 'efivarfs', 'binfmt_misc', 'autofs', 'rpc_pipefs',
  'selinuxfs', 'none', 'swap',
]);

/** Filesystems whose content lives on another machine: reported, never looked for on this disk. */
export const NETWORK_FS_TYPES: ReadonlySet<string> = new Set([
  'nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'sshfs', 'fuse.sshfs', 'glusterfs', 'ceph', 'fuse.ceph', '9p', 'virtiofs', 'davfs',
]);

/** The in-image mount point, normalised (no `.`/empty components, no trailing slash), or undefined when it is not absolute. */
export function normaliseMountPoint(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  const parts: string[] = [];
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') parts.pop();
    else parts.push(c);
  }
  return '/' + parts.join('/');
}
