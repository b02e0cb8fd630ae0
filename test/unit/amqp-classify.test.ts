import { describe, expect, it } from 'vitest';
import { checkKinds } from '../../src/checks/index.js';
import { CheckFailure } from '../../src/checks/classify.js';
import type { CheckKind } from '../../src/types.js';

const classify = (error: unknown) => (checkKinds.get('amqp') as CheckKind).classify?.(error);
const withCode = (message: string, code: unknown) => Object.assign(new Error(message), { code });

/** amqplib's messages, as it words them (lib/connection.js, lib/channel.js, lib/connect.js). */
describe('the amqp kind classifies what amqplib throws', () => {
  it.each([
    [
      'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused"',
      undefined,
      'auth',
    ],
    ['Expected ConnectionOpenOk; got <ConnectionClose channel:0>', undefined, 'auth'],
    [
      'Operation failed: QueueDeclare; 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - access to queue"',
      403,
      'auth',
    ],
    ['connect ETIMEDOUT', undefined, 'timeout'],
    ['Frame size 1345270062 exceeds maxFrameSize 67108864', undefined, 'protocol'],
    ['Socket closed abruptly during opening handshake', undefined, 'protocol'],
    ['Expected ConnectionStart; got <ConnectionTune channel:0>', undefined, 'protocol'],
    ['Handshake terminated by server: 320 (CONNECTION-FORCED) with message "broker forced"', undefined, 'protocol'],
    ['Operation failed: QueueDeclare; 406 (PRECONDITION-FAILED) with message "x"', 406, undefined],
  ])('%s', (message, code, reason) => {
    expect(classify(withCode(message, code))).toBe(reason);
  });

  it("leaves socket errors and the probe's own failures to the generic classifier", () => {
    expect(classify(withCode('connect ECONNREFUSED 127.0.0.1:5672', 'ECONNREFUSED'))).toBeUndefined();
    expect(classify(new CheckFailure('Expected a thing', 'assertion'))).toBeUndefined();
    expect(classify('Frame size')).toBeUndefined();
  });
});
