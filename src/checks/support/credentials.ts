import { z } from 'zod';
import type { CheckKind } from '../../types.js';

/** `password` / `passwordFile` of every kind with credentials; either overrides the URL's. */
export const credentialOptions = {
  password: z.string().optional(),
  passwordFile: z.string().min(1).optional(),
};

/** The loader reads `passwordFile` and puts its content (one trailing newline off) in `password`. */
export const PASSWORD_FILE: NonNullable<CheckKind['secretFiles']> = { passwordFile: 'password' };

/** A refinement for a kind's options: at most one of the two. */
export const onePassword = [
  (o: { password?: string | undefined; passwordFile?: string | undefined }) => !(o.password !== undefined && o.passwordFile !== undefined),
  { message: 'set either password or passwordFile, not both' },
] as const;
