import { statfs } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { UTILIZATION, type CheckKind } from '../types.js';
import { CheckFailure } from './classify.js';

const ratio = z.number().min(0).max(1);

const options = z
  .strictObject({
    /** Any path on the filesystem to watch (a mount point, or a directory on it). */
    path: z.string().refine(isAbsolute, { message: 'must be an absolute path' }),
    /** Below this share of free space the check fails. */
    minFreeRatio: ratio,
    /** Below this share of free space the check warns; at least minFreeRatio. */
    warnFreeRatio: ratio.optional(),
  })
  .refine((o) => o.warnFreeRatio === undefined || o.warnFreeRatio >= o.minFreeRatio, {
    message: 'must be at least minFreeRatio',
    path: ['warnFreeRatio'],
  });
type DiskOptions = z.infer<typeof options>;

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

/**
 * Free space as `df` counts it: the blocks available to unprivileged users over those they could
 * ever use (the root reserve left out), so that utilization = 100 - free% is df's Use%.
 */
export const diskCheck: CheckKind<DiskOptions> = {
  kind: 'disk',
  componentType: 'system',
  observed: UTILIZATION,
  options,
  target: (o) => o.path,
  create: (o) => async () => {
    const stats = await statfs(o.path);
    const usable = stats.blocks - stats.bfree + stats.bavail;
    if (usable <= 0) throw new CheckFailure(`${o.path}: the filesystem reports no blocks`, 'error');
    const free = stats.bavail / usable;
    const observedValue = (1 - free) * 100;
    if (free < o.minFreeRatio) {
      throw new CheckFailure(`${percent(free)} free, below minFreeRatio ${percent(o.minFreeRatio)}`, 'error', {
        observedValue,
      });
    }
    if (o.warnFreeRatio !== undefined && free < o.warnFreeRatio) {
      return { observedValue, warn: `${percent(free)} free, below warnFreeRatio ${percent(o.warnFreeRatio)}` };
    }
    return { observedValue };
  },
};
