/**
 * LVM2's metadata checksum (lvm2 lib/misc/crc.c, calc_crc): the reflected CRC-32 polynomial
 * 0xEDB88320 with LVM's own initial value and no final inversion. It equals the IEEE CRC-32
 * register update, so it is computed with the shared table by undoing crc32()'s inversions.
 */
import { crc32 } from '../../util/crc32.ts';

/** INITIAL_CRC in lvm2 lib/misc/crc.h. */
export const LVM_INITIAL_CRC = 0xf597a6cf;

/** calc_crc(initial, buf): chainable, pass the previous result as `initial` to continue. */
export function lvmCrc(buf: Uint8Array, initial = LVM_INITIAL_CRC): number {
  return (crc32(buf, (initial ^ 0xffffffff) >>> 0) ^ 0xffffffff) >>> 0;
}
