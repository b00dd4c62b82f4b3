/**
 * Conformance over geometry variants (inode sizes, block sizes, bigalloc) and over ext3 / ext2
 * made by their own mkfs: each reads back exactly like the source tree, with no issues.
 */
import { conformanceSuite, type ConformanceVariant } from './conformance.ts';

const VARIANTS: ConformanceVariant[] = [
  { name: 'ext4 with 128-byte inodes (no extra fields)', args: ['-I', '128'], type: 'ext4' },
  { name: 'ext4 with 1024-byte inodes', args: ['-I', '1024'], type: 'ext4' },
  { name: 'ext4 with 1 KiB blocks', args: ['-b', '1024'], type: 'ext4' },
  { name: 'ext4 with 4 KiB blocks and no journal', args: ['-b', '4096', '-O', '^has_journal'], type: 'ext4' },
  { name: 'ext4 with 64 KiB blocks', args: ['-b', '65536'], sizeMiB: 512, type: 'ext4' },
  { name: 'ext4 with bigalloc (16 KiB clusters of 1 KiB blocks, first data block 0)', args: ['-O', 'bigalloc', '-b', '1024', '-C', '16384'], type: 'ext4' },
  { name: 'ext4 with bigalloc (64 KiB clusters of 4 KiB blocks)', args: ['-O', 'bigalloc', '-C', '65536'], type: 'ext4' },
  { name: 'ext3 (mkfs.ext3: journal, indirect block maps)', mkfs: 'mkfs.ext3', type: 'ext3' },
  { name: 'ext2 (mkfs.ext2)', mkfs: 'mkfs.ext2', type: 'ext2' },
  { name: 'ext2 with 1 KiB blocks and 128-byte inodes (double-indirect files)', mkfs: 'mkfs.ext2', args: ['-b', '1024', '-I', '128'], type: 'ext2' },
];

conformanceSuite(VARIANTS);
