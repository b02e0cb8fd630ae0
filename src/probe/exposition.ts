import { FAILURE_REASONS, type RunResult } from '../types.js';

function gauge(name: string, help: string, samples: readonly (readonly [string, number])[]): string {
  const lines = samples.map(([labels, value]) => `${name}${labels} ${String(value)}`);
  return `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${lines.join('\n')}\n`;
}

const seconds = (ms: number) => Math.round(ms * 1000) / 1e6;

/**
 * The exposition of one /probe run, in blackbox_exporter's names so that its dashboards and
 * alerts work. Every failure reason is a series (1 for the run's, 0 for the others) so that the
 * series stay the same from one scrape to the next; every phase of the kind is too (0 when the
 * run did not reach it). A warn is a success with a note: probe_success 1.
 */
export function probeExposition(result: RunResult, phases: readonly string[]): string {
  const success = result.status === 'fail' ? 0 : 1;
  let text = gauge('probe_success', 'Whether the probe succeeded (1) or failed (0).', [['', success]]);
  text += gauge('probe_duration_seconds', 'How long the probe took, in seconds.', [['', seconds(result.durationMs)]]);
  text += gauge(
    'probe_failure_reason',
    'Why the probe failed: 1 for its reason, 0 for the others (all 0 when it succeeded).',
    FAILURE_REASONS.map((reason) => [`{reason="${reason}"}`, result.reason === reason ? 1 : 0]),
  );
  if (phases.length > 0)
    text += gauge(
      'probe_phase_duration_seconds',
      'Seconds spent in each phase of the probe; 0 for a phase it did not reach.',
      phases.map((phase) => [`{phase="${phase}"}`, seconds(result.phases?.[phase] ?? 0)]),
    );
  if (result.certificate !== undefined)
    text += gauge(
      'probe_tls_cert_expiry_timestamp_seconds',
      "When the peer's certificate that expires first expires, in seconds since the epoch.",
      [['', result.certificate.notAfter / 1000]],
    );
  return text;
}
