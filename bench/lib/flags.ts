/** Flag values the bench scripts share. */

/** A whole number ≥ 1 given as `flag`, or `fallback` when the flag is absent. */
export function wholeNumberFlag(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new Error(`${flag}: expected a whole number ≥ 1, got "${text}"`);
  return Number(text);
}
