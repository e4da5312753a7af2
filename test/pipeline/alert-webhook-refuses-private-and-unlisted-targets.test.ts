import { DEFAULT_ALERTING, type AlertingConfig } from '../../src/config/app-config';
import {
  addressRefusal,
  alertSignature,
  alertUrlRefusal,
  verifyAlertSignature,
} from '../../src/pipeline/alert-webhook';
import { retryDelayMs } from '../../src/pipeline/alert-delivery';

/** Issue 9 alerts: where an alert webhook may point, and the signature receivers check. */

const allowed: AlertingConfig = {
  ...DEFAULT_ALERTING,
  allowedHosts: ['hooks.example.com', '*.alerts.example.org', 'ops.example.net:8443'],
};

describe('alert webhook targets', () => {
  test.each([
    ['https://hooks.example.com/clawgate', undefined],
    ['https://a.alerts.example.org/x', undefined],
    ['https://ops.example.net:8443/x', undefined],
  ])('%s is allowed', (url, expected) => {
    expect(alertUrlRefusal(url, allowed)).toBe(expected);
  });

  test.each([
    ['http://hooks.example.com/clawgate', /only https/],
    ['https://user:pw@hooks.example.com/', /credentials/],
    ['https://evil.example.com/', /not in CLAWGATE_ALERT_ALLOWED_HOSTS/],
    ['https://alerts.example.org/', /not in CLAWGATE_ALERT_ALLOWED_HOSTS/],
    ['https://hooks.example.com:444/', /not in CLAWGATE_ALERT_ALLOWED_HOSTS/],
    ['https://ops.example.net/', /not in CLAWGATE_ALERT_ALLOWED_HOSTS/],
    ['https://127.0.0.1/', /loopback/],
    ['https://localhost/', /loopback/],
    ['https://10.1.2.3/', /private/],
    ['https://169.254.169.254/latest/meta-data', /linkLocal/],
    ['https://[::ffff:192.168.0.1]/', /private/],
    ['not a url', /not a URL/],
  ])('%s is refused', (url, reason) => {
    expect(alertUrlRefusal(url, allowed)).toMatch(reason);
  });

  test('no allowed hosts configured: every URL is refused (off by default)', () => {
    expect(alertUrlRefusal('https://hooks.example.com/', DEFAULT_ALERTING)).toMatch(/allows no alert hosts/);
  });

  test('resolved addresses: only public unicast, loopback only when the test config allows it', () => {
    expect(addressRefusal('93.184.216.34', allowed)).toBeUndefined();
    for (const address of [
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '127.0.0.1',
      '::1',
      'fe80::1',
      'fc00::1',
      '0.0.0.0',
      '100.64.0.1',
      '::ffff:10.0.0.1',
    ]) {
      expect(addressRefusal(address, allowed)).toMatch(/not public/);
    }
    expect(addressRefusal('127.0.0.1', { ...allowed, allowLoopback: true })).toBeUndefined();
    expect(addressRefusal('10.0.0.1', { ...allowed, allowLoopback: true })).toMatch(/private/);
  });
});

describe('alert signature', () => {
  const secret = 'whsec_test';
  const body = '{"id":"a","type":"incident"}';
  const now = 1_800_000_000;

  test('verifies the exact body and timestamp, in a time window', () => {
    const signature = `sha256=${alertSignature(secret, now, body)}`;
    expect(verifyAlertSignature(secret, { signature, timestamp: String(now) }, body, now)).toBe(true);
    expect(verifyAlertSignature(secret, { signature, timestamp: String(now) }, `${body} `, now)).toBe(false);
    expect(verifyAlertSignature(secret, { signature, timestamp: String(now + 1) }, body, now)).toBe(false);
    expect(verifyAlertSignature('whsec_other', { signature, timestamp: String(now) }, body, now)).toBe(false);
    expect(verifyAlertSignature(secret, { signature, timestamp: String(now) }, body, now + 301)).toBe(false);
    expect(verifyAlertSignature(secret, { signature: undefined, timestamp: String(now) }, body, now)).toBe(false);
  });

  test('retries back off exponentially, capped at an hour', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 10_000))).toEqual([10_000, 20_000, 40_000, 80_000]);
    expect(retryDelayMs(30, 10_000)).toBe(60 * 60_000);
  });
});
