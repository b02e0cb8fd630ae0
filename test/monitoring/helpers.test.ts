/**
 * Proves test/support/prometheus.ts against the real daemons: a Prometheus scraping itself
 * with the shipped rules loaded, and Alertmanager running the shipped alertmanager.yml,
 * delivering to a local webhook receiver.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { skipUnlessBinaries } from '../support/binaries.js';
import {
  startAlertmanager,
  startPrometheus,
  startWebhookReceiver,
  type AlertmanagerServer,
  type GettableAlert,
  type PostableAlert,
  type PrometheusServer,
  type WebhookReceiver,
} from '../support/prometheus.js';
import { readRepoFile } from '../support/repo.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skipUnlessBinaries(['prometheus'], 'prometheus helper'))('startPrometheus', () => {
  let prom: PrometheusServer | undefined;
  afterAll(async () => {
    await prom?.close();
  });

  it('scrapes itself and evaluates the shipped rules', async () => {
    const started = Date.now();
    prom = await startPrometheus({
      configYaml: (port) => `
global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
rule_files: [rules/vitals-alerts.yml]
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ['127.0.0.1:${port}']}]
`,
      ruleFiles: { 'rules/vitals-alerts.yml': readRepoFile('rules/vitals-alerts.yml') },
    });
    const readyMs = Date.now() - started;
    expect(prom.url).toBe(`http://127.0.0.1:${prom.port}`);

    const samples = await prom.waitForFirstSample('up{job="prometheus"}', 20_000);
    const firstSampleMs = Date.now() - started;
    expect(samples).toHaveLength(1);
    expect(samples[0]?.metric).toMatchObject({ job: 'prometheus', instance: `127.0.0.1:${prom.port}` });
    expect(samples[0]?.value[1]).toBe('1');

    // No vitals target here: VitalsAbsent is pending (for: 15m) as soon as the rules are evaluated.
    let alerts = await prom.alerts();
    for (let i = 0; i < 30 && !alerts.some((a) => a.labels.alertname === 'VitalsAbsent'); i++) {
      await sleep(100);
      alerts = await prom.alerts();
    }
    expect(alerts).toContainEqual(
      expect.objectContaining({
        labels: { alertname: 'VitalsAbsent', job: 'vitals', severity: 'critical' },
        state: 'pending',
      }),
    );
    console.info(`prometheus: ready after ${readyMs} ms, first sample of up after ${firstSampleMs} ms`);
  });

  it('cleans up on close()', async () => {
    const p = prom;
    expect(p).toBeDefined();
    if (p === undefined) return;
    await p.close();
    await p.close(); // idempotent
    await expect(fetch(`${p.url}/-/ready`)).rejects.toThrow();
  });
});

describe.skipIf(skipUnlessBinaries(['prometheus-alertmanager'], 'alertmanager helper'))(
  'startAlertmanager with the shipped alertmanager.yml',
  () => {
    let am: AlertmanagerServer | undefined;
    let hook: WebhookReceiver | undefined;

    beforeAll(async () => {
      const started = Date.now();
      hook = await startWebhookReceiver();
      // The shipped config, with its placeholder webhook URLs pointing at our receiver and a
      // 1s group_wait instead of 30s.
      const config = parse(readRepoFile('alertmanager.yml')) as {
        route: { group_wait: string };
        receivers: { name: string; webhook_configs: { url: string }[] }[];
      };
      config.route.group_wait = '1s';
      for (const r of config.receivers) {
        for (const w of r.webhook_configs) w.url = w.url.replace('http://127.0.0.1:5001', hook.url);
      }
      am = await startAlertmanager({ configYaml: stringify(config) });
      console.info(`alertmanager: ready after ${Date.now() - started} ms`);
    });
    afterAll(async () => {
      await am?.close();
      await hook?.close();
    });

    const labels = { job: 'vitals', instance: 'localhost:9469', kind: 'mysql', critical: 'true' };
    const alert = (alertname: string, severity: string, check: string | undefined): PostableAlert => ({
      labels: { ...labels, alertname, severity, ...(check === undefined ? {} : { check }) },
      annotations: { summary: `${alertname} from the helper test.` },
    });

    async function alertState(
      alertname: string,
      want: GettableAlert['status']['state'],
    ): Promise<GettableAlert | undefined> {
      const deadline = Date.now() + 5_000;
      for (;;) {
        const found = (await am?.alerts())?.find((a) => a.labels.alertname === alertname);
        if (found?.status.state === want || Date.now() > deadline) return found;
        await sleep(100);
      }
    }

    it('routes a critical alert posted to /api/v2/alerts to the pager webhook', async () => {
      if (am === undefined || hook === undefined) throw new Error('not started');
      const posted = Date.now();
      await am.postAlerts([alert('VitalsCheckFailing', 'critical', 'primary-db')]);
      const delivery = await hook.waitFor((d) =>
        d.body.alerts.some((a) => a.labels.alertname === 'VitalsCheckFailing'),
      );
      console.info(`alertmanager: webhook after ${delivery.at - posted} ms`);
      expect(delivery.path).toBe('/pager');
      expect(delivery.body).toMatchObject({
        version: '4',
        status: 'firing',
        receiver: 'pager',
        groupLabels: { alertname: 'VitalsCheckFailing', instance: 'localhost:9469', check: 'primary-db' },
      });
      expect(delivery.body.alerts[0]?.labels).toMatchObject({ severity: 'critical', check: 'primary-db' });
    });

    it('routes warnings to the ticket webhook and inhibits those of a check whose critical alert fires', async () => {
      if (am === undefined || hook === undefined) throw new Error('not started');
      await am.postAlerts([
        alert('VitalsCheckSlow', 'warning', 'primary-db'), // same check as the firing critical alert
        alert('VitalsNotReady', 'warning', undefined), // same instance as VitalsCheckFailing
        alert('VitalsCheckDegraded', 'warning', 'cache'), // another check
      ]);
      const delivery = await hook.waitFor((d) =>
        d.body.alerts.some((a) => a.labels.alertname === 'VitalsCheckDegraded'),
      );
      expect(delivery.path).toBe('/ticket');
      expect(delivery.body.receiver).toBe('ticket');

      const slow = await alertState('VitalsCheckSlow', 'suppressed');
      expect(slow?.status.state).toBe('suppressed');
      expect(slow?.status.inhibitedBy.length).toBeGreaterThan(0);
      const notReady = await alertState('VitalsNotReady', 'suppressed');
      expect(notReady?.status.state).toBe('suppressed');
      expect((await alertState('VitalsCheckDegraded', 'active'))?.status.state).toBe('active');

      // the inhibited groups were due together with Degraded's: give them a moment, then nothing
      await sleep(1_000);
      const inhibited = hook.received
        .flatMap((d) => d.body.alerts)
        .filter((a) => ['VitalsCheckSlow', 'VitalsNotReady'].includes(a.labels.alertname ?? ''));
      expect(inhibited).toEqual([]);
    });
  },
);
